-- staff/session_update.lua: replaces a signed-in person's session only if no other request
-- changed it since it was read (compare-and-set on its version), keeping its lifetime.
-- KEYS[1] the session (string: JSON); ARGV[1] JSON: version (the one read: absent = 0),
-- session (the new JSON, its version one more).
-- Guarantees: a choice of workplace, a device or a re-check never writes back a session
-- another request changed in between (a newer refresh token, a later re-check, workplaces
-- taken away). Returns 1 if replaced, 0 if the session is gone, -1 if it changed meanwhile.
local A = cjson.decode(ARGV[1])
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local current = cjson.decode(raw)
if (tonumber(current.version) or 0) ~= tonumber(A.version) then return -1 end
redis.call('SET', KEYS[1], A.session, 'KEEPTTL')
return 1
