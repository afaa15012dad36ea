-- call_next.lua: the counter calls the next ticket.
-- ARGV: counter, preferences (the counter's queues, most preferred first), call_id.
-- Guarantees: a ticket is called at most once (it leaves its queue in the same step);
-- the counter must be open and free; first come, first served within a queue, and the
-- counter's first queue with someone waiting wins (domain.pick_queue).
local replayed = replay()
if replayed then return replayed end
roll_day()

local ck = counter_key(A.counter)
local c = hgetall(ck) or {}
if c.open ~= '1' then
  return fail(409, 'counter_closed', {counter = A.counter})
end
if c.ticket and c.ticket ~= '' then
  local cur = hgetall(ticket_key(c.ticket))
  if cur and (cur.status == 'called' or cur.status == 'serving') then
    return fail(409, 'counter_busy', {counter = A.counter, number = cur.number, state = cur.status})
  end
end

-- The head of the first preferred queue with someone waiting. An id whose ticket is gone
-- or no longer waiting (Redis evicted it, or a bug) is dropped from the queue, not called.
local id, t = nil, nil
for _, q in ipairs(A.preferences) do
  for _ = 1, 1000 do
    id = redis.call('ZRANGE', queue_key(q), 0, 0)[1]
    if not id then break end
    t = hgetall(ticket_key(id))
    if t and t.status == 'waiting' then break end
    redis.call('ZREM', queue_key(q), id)
    redis.call('SREM', OPEN, id)
    id, t = nil, nil
  end
  if id then break end
end
if not id then
  return answer(204, {})  -- nobody waits; a retry under the same key gets this again
end

local key = ticket_key(id)
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
redis.call('LPUSH', CALLS, call)
redis.call('LTRIM', CALLS, 0, CALLS_KEEP - 1)
redis.call('HSET', ck, 'ticket', id)
event('called', {ticket = id, number = t.number, queue = t.queue, counter = A.counter})
return answer(200, {ticket = t})
