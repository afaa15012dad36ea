-- book.lua: book a place in an appointment slot.
-- ARGV: queue, slot (start, ms), slot_day (its local day), capacity, code_hash, keep_until
--       (ms: the booking's keys expire then), request (a fingerprint of what is booked;
--       present when the code comes from an Idempotency-Key), client (a keyed digest of
--       the client that key is bound to), contact, contact_until (ms), lang (the language
--       the booking was made in: its confirmation, calendar file and reminders keep it).
-- Guarantees: a slot never holds more than capacity places (count and check in one
-- step); the same request under the same Idempotency-Key from the same client finds its
-- booking again; the key from another client gets neither the booking nor its code
-- ('idempotency_key_in_use'), whatever it asks for - and a booking stored without a
-- client is never answered again.
roll_day()

local bk = booking_key(A.code_hash)
local existing = hgetall(bk)
if existing then
  if A.request then
    if not A.client or existing.client ~= A.client then
      return fail('idempotency_key_in_use')
    end
    if existing.request == A.request then
      return cjson.encode({kind = 'created', booking = existing, replayed = true})
    end
    return fail('idempotency_key_reused')
  end
  return fail('code_taken')  -- a new random code collided: the caller draws another
end

local sk = slots_key(A.slot_day, A.queue)
local taken = tonumber(redis.call('HGET', sk, A.slot) or '0')
if taken >= A.capacity then
  return fail('slot_full', {queue = A.queue, slot = A.slot})
end
redis.call('HINCRBY', sk, A.slot, 1)
redis.call('HINCRBY', expect_key(A.slot_day, A.queue), A.slot, 1)
local b = {code_hash = A.code_hash, queue = A.queue, day = A.slot_day, slot = A.slot,
           status = 'booked', booked_at = A.now, ticket = '', number = '', late = 0,
           request = A.request or '', client = A.client or '',
           has_contact = A.contact and 1 or 0, lang = A.lang or ''}
hset(bk, b)
redis.call('ZADD', day_list_key(A.slot_day), A.slot, A.code_hash)
for _, k in ipairs({bk, sk, expect_key(A.slot_day, A.queue), day_list_key(A.slot_day)}) do
  redis.call('PEXPIRE', k, ttl_until(A.keep_until))
end
if A.contact then
  redis.call('SET', contact_key(A.code_hash), A.contact, 'PX', ttl_until(A.contact_until))
end
stat('booked:' .. A.queue, 1)
event('booked', {queue = A.queue, slot = A.slot})
commit()
return cjson.encode({kind = 'created', booking = b})
