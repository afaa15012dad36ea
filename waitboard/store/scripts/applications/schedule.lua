-- schedule.lua: a deletion date for an application decided before waitboard kept them.
-- ARGV[1] (JSON, besides the prelude's): keep_ms (the retention after the decision, ms).
-- Guarantees: only a decided application without a date gets one, its decision's time
-- (its last change, updated_at) plus keep_ms, the retention configured now - a date
-- already past deletes it at once; all else is left as it is, and no audit entry is
-- written (no one changed it). Returns 1 when it set a date, else 0.
local h = redis.call('HMGET', APP, 'stage', 'delete_at', 'updated_at')
if h[1] ~= 'decided' or h[2] then return 0 end
keep_until(string.format('%d', tonumber(h[3]) + tonumber(A.keep_ms)))
return 1
