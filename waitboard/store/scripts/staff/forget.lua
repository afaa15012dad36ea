-- staff/forget.lua: a person deleted from the staff directory (someone who left), and the
-- deletion recorded in the office's audit of staff actions - both in one step.
-- KEYS[1] the directory (hash: pseudonymous id -> name), KEYS[2] the office's audit stream
-- (the same slot, {staff}); ARGV[1] JSON: person (whose name goes), now (ms),
-- audit_keep_ms, by {person, device} (who deletes).
-- Guarantees: the name is gone and the deletion is on record together; deleting a person
-- not in the directory changes nothing and records nothing. The record names the deleted
-- person by the pseudonym only (the name is what goes). Returns 1 if a name was deleted.
local A = cjson.decode(ARGV[1])
if redis.call('HDEL', KEYS[1], A.person) == 0 then return 0 end
local by = A.by or {}
local id = string.format('%d-0', A.now)
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1]
if last then
  local last_ms, last_seq = string.match(last[1], '^(%d+)-(%d+)$')
  if tonumber(last_ms) >= A.now then id = last_ms .. '-' .. (tonumber(last_seq) + 1) end
end
redis.call('XADD', KEYS[2], 'MINID', string.format('%d', math.max(0, A.now - A.audit_keep_ms)),
           id, 'action', 'person_delete', 'person', by.person or '', 'device', by.device or '',
           'subject', A.person)
return 1
