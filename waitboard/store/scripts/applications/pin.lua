-- pin.lua: a new PIN for an application (a new letter).
-- ARGV[1] (JSON, besides the prelude's): pin (the new scrypt record, never the PIN).
-- Guarantees: refused ('not_found') for an unknown number, nothing written. The PIN's
-- record is replaced in one step, so the old letter's PIN stops working at once; the stage
-- and its date stay as they are (the audit entry records a 'pin_reset').
local replayed = replay()
if replayed then return replayed end
if redis.call('EXISTS', APP) == 0 then return cjson.encode({error = 'not_found'}) end
local current = redis.call('HMGET', APP, 'stage', 'missing')
redis.call('HSET', APP, 'pin', A.pin)
audit('pin_reset', current[1], current[1], current[2])
return answer('done', {application = view()})
