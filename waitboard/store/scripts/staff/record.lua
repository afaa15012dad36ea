-- staff/record.lua: one record in the office's audit of staff actions that belong to no
-- location - a sign-in or sign-out, a person deleted from the staff directory (someone who
-- left) - and, for the deletion, the deletion itself, in one step.
-- KEYS[1] the directory (hash: pseudonymous id -> name), KEYS[2] the office's audit stream
-- (the same slot, {staff}); for a deletion also KEYS[3] subjects (keyed digest -> id),
-- KEYS[4] subject-of (id -> digest), KEYS[5] the person's sessions (zset of digests);
-- ARGV[1] JSON: action, subject (whom it is about: a pseudonymous id, or ""), forget
-- (present: delete the subject's name, their subject's mapping and their sessions,
-- session_prefix naming a session's key), now (ms), audit_keep_ms, by {person, device}.
-- Guarantees: a deletion and its record happen together; a deleted person's id names
-- nobody any more (no name, no subject that leads to it: their next sign-in draws a new
-- id) and their sessions end; deleting a person not known changes nothing and records
-- nothing. A record names people by pseudonym only
-- (a deleted name is what goes). The entry's id is the action's time (one later than the
-- last entry if the caller's clock is behind it); records older than the retention are cut
-- off. Returns 1 if something was recorded.
local A = cjson.decode(ARGV[1])
if A.forget then
  local found = redis.call('HDEL', KEYS[1], A.subject)
  local digest = redis.call('HGET', KEYS[4], A.subject)
  if digest then
    redis.call('HDEL', KEYS[3], digest)
    redis.call('HDEL', KEYS[4], A.subject)
    found = 1
  end
  for _, session in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
    found = found + redis.call('DEL', A.session_prefix .. session)
  end
  redis.call('DEL', KEYS[5])
  if found == 0 then return 0 end
end
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
