-- stage.lua: an application's new stage and missing documents.
-- ARGV[1] (JSON, besides the prelude's): stage, missing (the list as JSON text), delete_at
-- (ms as a string; only for a decision: when the application is to be deleted).
-- Guarantees: refused ('not_found') for an unknown number, nothing written. The same stage
-- and list again changes nothing and writes no audit entry (changed = false), so a retry
-- without Idempotency-Key is harmless, too, and a decision saved twice keeps its first deletion
-- date. Leaving the decision (reopened on objection) cancels the deletion.
local replayed = replay()
if replayed then return replayed end
if redis.call('EXISTS', APP) == 0 then return cjson.encode({error = 'not_found'}) end
local old = redis.call('HMGET', APP, 'stage', 'missing')
if old[1] == A.stage and old[2] == A.missing then
  return answer('done', {application = view(), changed = false})
end
redis.call('HSET', APP, 'stage', A.stage, 'missing', A.missing, 'updated_at', A.now)
audit('stage', old[1], A.stage, A.missing)
local app = view()
if A.delete_at or old[1] == 'decided' then app = keep_until(A.delete_at) end
return answer('done', {application = app, changed = true})
