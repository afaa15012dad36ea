-- delete.lua: an application deleted by hand, now rather than after a decision (filed by
-- mistake, or its citizen asked for the data to be erased).
-- ARGV[1] (JSON, besides the prelude's): created_from and created_to (optional, ms as
-- strings, both ends included: when the application the caller saw was created - its page
-- knows the ms, the API's answers the second; another one filed under the number since
-- is refused: 'filed_anew'). KEYS after the prelude's: the Idempotency-Key records the hash
-- names (its field 'idem'), as the caller read them just before; refused, 'records_changed',
-- when they are not those any more (a change came in between), and the caller reads again.
-- Guarantees: refused ('not_found') for an unknown number, nothing written. Otherwise the
-- hash (with the PIN's record), the audit stream and the number's place in the recent list and the
-- schedule go together, and those records that answer for this application keep only
-- that it is gone (a late retry of a change is refused, never files or changes anything
-- anew); a record under a key reused since for another application is left as it is.
-- Afterwards no key names the number, nor does a value but a record of a change older than
-- the last 100 (lib.lua), and the number can be filed again. The answer names no
-- application, and the caller sends a keyed fingerprint, so the delete's own record does
-- not either. The office's record of staff actions keeps who deleted it, naming the
-- application by its keyed digest only (lib.lua).
local replayed = replay()
if replayed then return replayed end
if redis.call('EXISTS', APP) == 0 then return cjson.encode({error = 'not_found'}) end
local created_at = redis.call('HGET', APP, 'created_at')
local created = tonumber(created_at)
if A.created_from and (created < tonumber(A.created_from) or created > tonumber(A.created_to)) then
  return cjson.encode({error = 'filed_anew'})
end
local given, i = {}, IDEM and 7 or 6
for _, record in ipairs(named_records()) do
  if KEYS[i] ~= record[1] then return cjson.encode({error = 'records_changed'}) end
  given[#given + 1], i = KEYS[i], i + 1
end
if i <= #KEYS then return cjson.encode({error = 'records_changed'}) end
for _, key in ipairs(given) do
  local raw = redis.call('GET', key)
  local record = raw and cjson.decode(raw)
  local app = record and record.answer and record.answer.application
  if app and app.number == A.number and app.created_at == created_at then
    -- (KEEPTTL: it expires when it would have.)
    redis.call('SET', key, DELETED, 'KEEPTTL')
  end
end
office_audit('application_delete', {stage = redis.call('HGET', APP, 'stage')}, {})
redis.call('DEL', APP, AUDIT)
redis.call('ZREM', RECENT, A.number)
redis.call('ZREM', DELETING, A.number)
return answer('done', {deleted = true})
