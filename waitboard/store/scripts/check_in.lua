-- check_in.lua: someone with a booking arrives: a ticket for them.
-- ARGV: code_hash, ticket_id (random, from the caller), device, early_ms, late_ms (the
--       check-in window around the slot), walk_in (the queue for late arrivals), and for
--       a late arrival: closed (a terminal out of hours), max_waiting (the walk-in
--       queue's ticket stop).
-- Guarantees: one ticket per booking (checking in again answers the same ticket); on time
-- it waits in the appointment queue ordered by slot time, too late in the walk-in queue,
-- marked late; too early, on another day or after it, nothing changes. An arrival is
-- recorded in the audit (a checking in again is not).
local replayed = replay()
if replayed then return replayed end
roll_day()

local bk = booking_key(A.code_hash)
local b = hgetall(bk)
if not b then return fail('booking_not_found') end
if b.status == 'cancelled' then return fail('booking_cancelled', {slot = tonumber(b.slot)}) end
if b.status == 'arrived' then
  local t = hgetall(ticket_key(b.ticket))
  if t then return answer('done', {ticket = t, position = position_of(t), booking = b}) end
  return fail('booking_arrived', {number = b.number})
end
local slot = tonumber(b.slot)
if b.day < DAY then return fail('booking_passed', {slot = slot}) end
if b.day ~= DAY then return fail('booking_other_day', {slot = slot}) end
if A.now < slot - A.early_ms then
  return fail('booking_too_early', {slot = slot, opens = slot - A.early_ms})
end

local late = A.now > slot + A.late_ms
local queue = late and A.walk_in or b.queue
local qk = queue_key(queue)
-- Too late, the person is a walk-in like any other: the terminal's opening hours and the
-- walk-in queue's ticket stop apply to them as well.
if late and A.closed then return fail('queue_closed', {queue = queue}) end
if late and A.max_waiting then
  local waiting = redis.call('ZCARD', qk)
  if waiting >= A.max_waiting then
    return fail('ticket_stop', {queue = queue, waiting = waiting, max_waiting = A.max_waiting})
  end
end
local n = redis.call('HINCRBY', NUMBERS, queue, 1)
local t = {
  id = A.ticket_id, number = string.format('%s%03d', queue, n), queue = queue,
  status = 'waiting', issued_at = A.now, queued_at = A.now, day = DAY,
  recall = 0, transfers = 0, counter = '', device = A.device,
  slot_at = slot, late = late and 1 or 0,
}
hset(ticket_key(t.id), t)
if late then
  redis.call('ZADD', qk, next_order(), t.id)
  learn_arrival(queue)
else
  -- By slot time; people of the same slot in the order they came: one after the last of
  -- that slot still waiting (a slot holds fewer than 1000, so scores stay within it).
  local last = redis.call('ZREVRANGEBYSCORE', qk, slot + 999, slot, 'WITHSCORES', 'LIMIT', 0, 1)
  redis.call('ZADD', qk, last[2] and tonumber(last[2]) + 1 or slot, t.id)
end
redis.call('SADD', OPEN, t.id)
redis.call('HINCRBY', expect_key(b.day, b.queue), b.slot, -1)
redis.call('HSET', bk, 'status', 'arrived', 'ticket', t.id, 'number', t.number,
           'late', t.late, 'arrived_at', A.now)
b.status, b.ticket, b.number, b.late = 'arrived', t.id, t.number, t.late
stat('issued:' .. queue, 1)
stat('arrivals:' .. A.hour, 1)
stat((late and 'late:' or 'on_time:') .. b.queue, 1)
event('issued', {ticket = t.id, number = t.number, queue = t.queue, slot = slot,
                 late = t.late})
-- (Of the booking nothing but its arrival: never its contact or its code.)
audit('check_in', {ticket = t.id, number = t.number, queue = t.queue,
                   before = {booking = 'booked'},
                   after = {status = t.status, queue = t.queue, late = t.late}})
return answer('created', {ticket = t, position = position_of(t), booking = b})
