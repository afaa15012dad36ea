-- ticket_action.lua: recall, start, complete, no_show, cancel or transfer one ticket.
-- ARGV: ticket_id, action, counters (the counters the device may operate; "*" = any),
--       queue (transfer target). The target's ticket stop does not apply: a person sent
--       on by staff is never turned away.
-- Guarantees: the transition is checked against domain.TRANSITIONS on the ticket's state
-- as it is now, and a ticket at a counter is only touched by a device of that counter.
-- The action is recorded in the audit (before and after: status, queue, counter).
local replayed = replay()
if replayed then return replayed end
roll_day()

local key = ticket_key(A.ticket_id)
local t = hgetall(key)
if not t then return fail('ticket_not_found', {ticket = A.ticket_id}) end

if A.counters ~= '*' and t.counter ~= '' and (t.status == 'called' or t.status == 'serving') then
  local mine = false
  for _, c in ipairs(A.counters) do if c == t.counter then mine = true end end
  if not mine then
    return fail('other_counter', {number = t.number, counter = t.counter})
  end
end

local nxt = TRANSITIONS[t.status] and TRANSITIONS[t.status][A.action]
if not nxt then
  return fail('invalid_transition', {number = t.number, state = t.status, action = A.action})
end

local action = A.action
if action == 'call' or action == 'day_end' then
  return fail('bad_action', {action = action})  -- only call_next and roll_day do these
end
if action == 'transfer' and A.queue == t.queue and t.status == 'waiting' then
  return fail('same_queue', {number = t.number, queue = t.queue})
end

local was = t.status
local before = {status = t.status, queue = t.queue, counter = t.counter}
t.status = nxt
if action == 'recall' then
  t.recall = tonumber(t.recall or '0') + 1
  local call = cjson.decode(t.call)
  redis.call('LREM', CALLS, 1, t.call)
  call.recall = t.recall
  call.called_at = A.now
  t.call = cjson.encode(call)
  t.recalled_at = A.now
  redis.call('LPUSH', CALLS, t.call)
  redis.call('LTRIM', CALLS, 0, CALLS_KEEP - 1)
  hset(key, {recall = t.recall, call = t.call, recalled_at = A.now})
  event('recalled', {ticket = t.id, number = t.number, queue = t.queue, counter = t.counter})
elseif action == 'start' then
  t.started_at = A.now
  hset(key, {status = t.status, started_at = A.now})
  event('started', {ticket = t.id, number = t.number, queue = t.queue, counter = t.counter})
elseif action == 'transfer' then
  if was == 'waiting' then redis.call('ZREM', queue_key(t.queue), t.id) end
  if was == 'serving' or was == 'called' then learn_service(t) end
  stat('transferred_out:' .. t.queue, 1)
  free_counter(t)
  local from = t.queue
  t.queue = A.queue
  t.counter = ''
  t.queued_at = A.now
  t.transfers = tonumber(t.transfers or '0') + 1
  hset(key, {status = t.status, queue = t.queue, counter = '', queued_at = A.now,
             transfers = t.transfers})
  redis.call('ZADD', queue_key(t.queue), next_order(), t.id)
  event('transferred', {ticket = t.id, number = t.number, queue = t.queue, from_queue = from})
else -- complete, no_show, cancel: the ticket ends
  if was == 'waiting' then redis.call('ZREM', queue_key(t.queue), t.id) end
  if action == 'complete' then
    learn_service(t)
    stat('served:' .. t.queue, 1)
    stat('service_sum:' .. t.queue, (A.now - ms(t.started_at)) / 1000)
  elseif action == 'no_show' then
    learn_service(t)
    stat('no_show:' .. t.queue, 1)
  else
    stat('cancelled:' .. t.queue, 1)
  end
  free_counter(t)
  t.closed_at = A.now
  close_ticket(t.id, t.status, action)
  local kind = ({complete = 'completed', no_show = 'no_show', cancel = 'cancelled'})[action]
  event(kind, {ticket = t.id, number = t.number, queue = t.queue, counter = t.counter})
end
audit(action, {ticket = t.id, number = t.number, queue = before.queue,
               counter = before.counter, before = before,
               after = {status = t.status, queue = t.queue, counter = t.counter}})
return answer('done', {ticket = t, position = position_of(t)})
