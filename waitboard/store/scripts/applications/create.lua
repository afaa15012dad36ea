-- create.lua: a new application at the first stage, with its PIN's record.
-- ARGV[1] (JSON, besides the prelude's): stage (the first stage), pin (the scrypt record,
--       never the PIN).
-- Guarantees: refused ('exists') if the number is taken (whoever took it), so one number
-- is never two applications; the new application, its 'created' audit entry and its place in the
-- recent list are written together. A number whose earlier application was deleted is
-- free again, and that one's place in the deletion schedule is dropped.
local replayed = replay()
if replayed then return replayed end
if redis.call('EXISTS', APP) == 1 then return cjson.encode({error = 'exists'}) end
redis.call('HSET', APP, 'number', A.number, 'stage', A.stage, 'missing', '[]', 'pin', A.pin,
           'created_at', A.now, 'updated_at', A.now)
redis.call('ZREM', DELETING, A.number)
audit('created', '', A.stage, '[]')
return answer('created', {application = view()})
