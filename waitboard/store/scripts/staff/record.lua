-- staff/record.lua: one record in the office's audit of staff actions that belong to no
-- location - a sign-in or sign-out, a person deleted from the staff directory (someone who
-- left) - and, for the deletion, the deletion itself, in one step.
-- KEYS[1] the directory (hash: pseudonymous id -> name), KEYS[2] the office's audit stream
-- (the same slot, {staff}); ARGV[1] JSON: action, subject (whom it is about: a pseudonymous
-- id, or ""), forget (present: delete the subject's name), now (ms), audit_keep_ms, by
-- {person, device} (who acts).
-- Guarantees: a deletion and its record happen together; deleting a person not in the
-- directory changes nothing and records nothing. A record names people by pseudonym only
-- (a deleted name is what goes). The entry's id is the action's time (one later than the
-- last entry if the caller's clock is behind it); records older than the retention are cut
-- off. Returns 1 if something was recorded.
local A = cjson.decode(ARGV[1])
if A.forget and redis.call('HDEL', KEYS[1], A.subject) == 0 then return 0 end
local by = A.by or {}
local id = string.format('%d-0', A.now)
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)[1]
if last then
  local last_ms, last_seq = string.match(last[1], '^(%d+)-(%d+)$')
  if tonumber(last_ms) >= A.now then id = last_ms .. '-' .. (tonumber(last_seq) + 1) end
end
redis.call('XADD', KEYS[2], 'MINID', string.format('%d', math.max(0, A.now - A.audit_keep_ms)),
           id, 'action', A.action, 'person', by.person or '', 'device', by.device or '',
           'subject', A.subject or '')
return 1
