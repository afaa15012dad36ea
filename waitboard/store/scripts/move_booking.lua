-- move_booking.lua: move a booking to another slot of the same queue, or cancel it.
-- ARGV: code_hash, cancel (present: cancel), or slot, slot_day, capacity, keep_until,
--       contact_until (ms).
-- Guarantees: the new slot never exceeds its capacity; the old place is given back in the
-- same step; cancelling twice answers the same (a retried cancel is harmless). A change
-- made by staff (ARGV by names a person or a device) is recorded in the audit.
roll_day()

local bk = booking_key(A.code_hash)
local b = hgetall(bk)
if not b then return fail('booking_not_found') end
if b.status == 'cancelled' then
  if A.cancel then return cjson.encode({kind = 'done', booking = b}) end
  return fail('booking_cancelled', {slot = tonumber(b.slot)})
end
if b.status ~= 'booked' then
  return fail('booking_arrived', {number = b.number})
end
if not A.cancel and tonumber(b.slot) == A.slot and b.day == A.slot_day then
  return cjson.encode({kind = 'done', booking = b})  -- already there
end

if not A.cancel then
  local nk = slots_key(A.slot_day, b.queue)
  local taken = tonumber(redis.call('HGET', nk, A.slot) or '0')
  if taken >= A.capacity then
    return fail('slot_full', {queue = b.queue, slot = A.slot})
  end
end

-- Give the old place back.
redis.call('HINCRBY', slots_key(b.day, b.queue), b.slot, -1)
redis.call('HINCRBY', expect_key(b.day, b.queue), b.slot, -1)
if A.cancel then
  redis.call('HSET', bk, 'status', 'cancelled', 'cancelled_at', A.now)  -- still listed
  redis.call('DEL', contact_key(A.code_hash))
  stat('cancelled_booking:' .. b.queue, 1)
  event('booking_cancelled', {queue = b.queue, slot = b.slot})
else
  redis.call('ZREM', day_list_key(b.day), A.code_hash)
  local nk = slots_key(A.slot_day, b.queue)
  redis.call('HINCRBY', nk, A.slot, 1)
  redis.call('HINCRBY', expect_key(A.slot_day, b.queue), A.slot, 1)
  redis.call('ZADD', day_list_key(A.slot_day), A.slot, A.code_hash)
  redis.call('HSET', bk, 'slot', A.slot, 'day', A.slot_day)
  for _, k in ipairs({bk, nk, expect_key(A.slot_day, b.queue), day_list_key(A.slot_day)}) do
    redis.call('PEXPIRE', k, ttl_until(A.keep_until))
  end
  if redis.call('EXISTS', contact_key(A.code_hash)) == 1 then
    redis.call('PEXPIRE', contact_key(A.code_hash), ttl_until(A.contact_until))
  end
  event('booking_moved', {queue = b.queue, from = b.slot, to = A.slot})
end
-- A change by staff is recorded (one by the citizen with their code is not a staff
-- action): the queue and the slots, never the code or the contact.
local by = A.by or {}
if (by.person or '') ~= '' or (by.device or '') ~= '' then
  audit(A.cancel and 'booking_cancel' or 'booking_move',
        {queue = b.queue, before = {status = b.status, slot = tonumber(b.slot)},
         after = {status = A.cancel and 'cancelled' or 'booked',
                  slot = A.cancel and tonumber(b.slot) or A.slot}})
end
commit()
return cjson.encode({kind = 'done', booking = hgetall(bk)})
