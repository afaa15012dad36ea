-- call_next.lua: the counter calls the next ticket.
-- ARGV: counter, preferences (the counter's queues, most preferred first), call_id.
-- Guarantees: a ticket is called at most once (it leaves its queue in the same step);
-- the counter must be open (not closed, not paused) and free; first come, first served
-- within a queue (by slot time in an appointment queue), in the order of domain.pick_queue.
-- A call is recorded in the audit; "nobody waits" records nothing.
local replayed = replay()
if replayed then return replayed end
roll_day()

local ck = counter_key(A.counter)
local c = hgetall(ck) or {}
if c.paused and c.paused ~= '' then
  return fail('counter_paused', {counter = A.counter, reason = c.paused})
end
if c.open ~= '1' then
  return fail('counter_closed', {counter = A.counter})
end
if c.ticket and c.ticket ~= '' then
  local cur = hgetall(ticket_key(c.ticket))
  if cur and (cur.status == 'called' or cur.status == 'serving') then
    return fail('counter_busy', {counter = A.counter, number = cur.number, state = cur.status})
  end
end

-- The head of a queue. An id whose ticket is gone or no longer waiting (Redis evicted it,
-- or a bug) is dropped from the queue, not called.
local function head(q)
  for _ = 1, 1000 do
    local hid = redis.call('ZRANGE', queue_key(q), 0, 0)[1]
    if not hid then return nil, nil end
    local ht = hgetall(ticket_key(hid))
    if ht and ht.status == 'waiting' then return hid, ht end
    redis.call('ZREM', queue_key(q), hid)
    redis.call('SREM', OPEN, hid)
  end
  return nil, nil
end

-- domain.pick_queue's three steps: an appointment that is due (its slot, less the call-
-- ahead time, has come), else the first walk-in queue in the counter's order with someone
-- waiting, else someone early for an appointment rather than an idle counter.
local APPT = A.layout.appointments or {}
local id, t = nil, nil
for step = 1, 3 do
  for _, q in ipairs(A.preferences) do
    local is_appt = APPT[q] ~= nil
    if (step == 2) ~= is_appt then
      local hid, ht = head(q)
      if hid and (step ~= 1 or tonumber(ht.slot_at or '0') - APPT[q].call_ahead_ms <= A.now) then
        id, t = hid, ht
        break
      end
    end
  end
  if id then break end
end
if not id then
  return answer('nothing', {})  -- nobody waits; a retry under the same key gets this again
end

local key = ticket_key(id)
local earlier = t.call
local before = {status = t.status, queue = t.queue, counter = t.counter}
redis.call('ZREM', queue_key(t.queue), id)
t.status = TRANSITIONS[t.status]['call']
t.counter = A.counter
t.called_at = A.now
t.recall = 0
t.call_id = A.call_id
local call = cjson.encode({id = A.call_id, ticket_id = id, number = t.number, queue = t.queue,
                           counter = A.counter, called_at = A.now, recall = 0})
t.call = call
hset(key, {status = t.status, counter = t.counter, called_at = t.called_at, recall = 0,
           call_id = t.call_id, call = call})
learn_call(t)
learn_pace(t.queue)
learn_hour(t.queue)
-- Called before (then transferred): the earlier call leaves the list, so that the lobby
-- never shows the same number at two counters.
if earlier and earlier ~= '' then redis.call('LREM', CALLS, 0, earlier) end
redis.call('LPUSH', CALLS, call)
redis.call('LTRIM', CALLS, 0, CALLS_KEEP - 1)
count_counter_time(A.counter, ck, c)
redis.call('HSET', ck, 'ticket', id)
event('called', {ticket = id, number = t.number, queue = t.queue, counter = A.counter})
audit('call', {ticket = id, number = t.number, queue = t.queue, counter = A.counter,
               before = before, after = {status = t.status, queue = t.queue, counter = A.counter}})
return answer('done', {ticket = t})
