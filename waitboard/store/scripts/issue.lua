-- issue.lua: a new ticket at the end of a queue.
-- ARGV: queue, ticket_id (random, from the caller), max_waiting (or absent), device,
--       closed (present when the caller must not issue now: a terminal out of hours).
-- Guarantees: numbers of a queue are consecutive per day and never repeat (HINCRBY under
-- the script's atomicity); the ticket stop is checked against the same count it updates.
-- A new ticket is recorded in the audit (the terminal's or the desk's).
local replayed = replay()
if replayed then return replayed end
roll_day()

-- After the replay: a retry just after closing time still gets the ticket it was given.
if A.closed then
  return fail('queue_closed', {queue = A.queue})
end

local qk = queue_key(A.queue)
local waiting = redis.call('ZCARD', qk)
if A.max_waiting and waiting >= A.max_waiting then
  return fail('ticket_stop', {queue = A.queue, waiting = waiting, max_waiting = A.max_waiting})
end

local n = redis.call('HINCRBY', NUMBERS, A.queue, 1)
local t = {
  id = A.ticket_id, number = string.format('%s%03d', A.queue, n), queue = A.queue,
  status = 'waiting', issued_at = A.now, queued_at = A.now, day = DAY,
  recall = 0, transfers = 0, counter = '', device = A.device,
}
hset(ticket_key(t.id), t)
redis.call('ZADD', qk, next_order(), t.id)
redis.call('SADD', OPEN, t.id)
learn_arrival(A.queue)
stat('issued:' .. A.queue, 1)
stat('arrivals:' .. A.hour, 1)
event('issued', {ticket = t.id, number = t.number, queue = t.queue})
audit('issue', {ticket = t.id, number = t.number, queue = t.queue,
                after = {status = t.status, queue = t.queue}})
return answer('created', {ticket = t, position = position_of(t)})
