-- delete.lua: an application deleted by hand, now rather than after a decision (filed by
-- mistake, or its citizen asked for the data to be erased).
-- KEYS after the prelude's: the Idempotency-Key records the hash names (its field 'idem'),
-- as the caller read them just before; 409 'records_changed' when they are not those any
-- more (a change came in between), and the caller reads again.
-- Guarantees: 404 for an unknown number, nothing written. Otherwise the hash (with the
-- PIN's record), the audit stream and the number's place in the recent list and the
-- schedule go together, and those records keep only that their application is gone (a
-- late retry of a change answers 409, never files or changes anything anew): no key names
-- the number afterwards, and it can be filed again. The answer names no application, and
-- the caller sends a keyed fingerprint, so the delete's own record does not either.
local replayed = replay()
if replayed then return replayed end
if redis.call('EXISTS', APP) == 0 then return cjson.encode({status = 404, error = 'not_found'}) end
local records = {}
for i = IDEM and 6 or 5, #KEYS do records[#records + 1] = KEYS[i] end
if (redis.call('HGET', APP, 'idem') or '') ~= table.concat(records, ' ') then
  return cjson.encode({status = 409, error = 'records_changed'})
end
for _, record in ipairs(records) do
  -- (KEEPTTL: it expires when it would have; one already gone is not made again.)
  if redis.call('EXISTS', record) == 1 then redis.call('SET', record, DELETED, 'KEEPTTL') end
end
redis.call('DEL', APP, AUDIT)
redis.call('ZREM', RECENT, A.number)
redis.call('ZREM', DELETING, A.number)
return answer(200, {deleted = true})
