-- lib.lua: the prelude of the application commands (create, stage, pin, schedule, delete);
-- scripts.source() puts it in front of each of them. The sweep stands alone (no prelude:
-- scripts.STANDALONE).
-- Calling convention: KEYS[1] the application's hash, KEYS[2] its audit stream, KEYS[3] the
-- recent list, KEYS[4] the deletion schedule, KEYS[5] the applications' audit (the office's
-- record of staff actions, core/audit.py), KEYS[6] the Idempotency-Key record when ARGV
-- carries a fingerprint, then a command's own keys; ARGV[1] JSON arguments (number, now in
-- ms as a string, device, fingerprint, idem_ttl, by {person, device}, ref (the keyed
-- digest that names the application in the office's record), audit_keep_ms, and the
-- command's own).
-- Guarantees shared by the commands: a script either changes nothing and answers a refusal
-- ({error = code}; a code, never a protocol's status) (but for marking a record found out
-- as stale, below), or makes its whole change with one audit entry and the number's place
-- in the recent list, atomically, and answers its kind ('created' or 'done'). A successful
-- answer is kept under the Idempotency-Key for 24 h with a fingerprint of the request: the
-- same request gets it again and changes nothing, another request under that key is
-- refused ('idempotency_key_reused'), and the record goes no later than the application's
-- deletion; once the application was deleted by hand, any request under the records of
-- its changes is refused ('deleted_since', delete.lua). Answers never contain the PIN's
-- record.
local A = cjson.decode(ARGV[1])
local APP, AUDIT, RECENT, DELETING, OFFICE_AUDIT = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local IDEM = A.fingerprint and KEYS[6] or nil
-- The hash names the records of its answers (field 'idem': "key@expiry_ms" each, blank
-- between) for a deletion by hand to find them (delete.lua): those of the last 24 h, at
-- most this many; one older than the last so many is found out when it is used.
local RECORDS_NAMED = 100
-- What such a record becomes: neither the number nor the request's fingerprint (a plain
-- hash of a body that names the number), only that its application is gone.
local DELETED = cjson.encode({deleted = true})

local function replay()
  if not IDEM then return nil end
  local raw = redis.call('GET', IDEM)
  if not raw then return nil end
  local record = cjson.decode(raw)
  if record.deleted then return cjson.encode({error = 'deleted_since'}) end
  if record.fingerprint ~= A.fingerprint then
    return cjson.encode({error = 'idempotency_key_reused'})
  end
  -- (An older record than the hash names, whose application was deleted by hand - and may
  -- have been filed anew since, so its answer is not true any more.)
  local app = record.answer.application
  if app and redis.call('HGET', APP, 'created_at') ~= app.created_at then
    redis.call('SET', IDEM, DELETED, 'KEEPTTL')
    return cjson.encode({error = 'deleted_since'})
  end
  record.answer.replayed = true
  return cjson.encode(record.answer)
end

-- The records the hash names: {key, expiry ms} each, oldest first.
local function named_records()
  local named = {}
  for key, expiry in string.gmatch(redis.call('HGET', APP, 'idem') or '', '(%S+)@(%d+)') do
    named[#named + 1] = {key, tonumber(expiry)}
  end
  return named
end

local function name_record()
  local named = {}
  for _, record in ipairs(named_records()) do
    -- (By the expiry written down: the records are not this script's keys to look at.)
    if record[2] > tonumber(A.now) then named[#named + 1] = record[1] .. '@' .. record[2] end
  end
  named[#named + 1] = IDEM .. '@' .. string.format('%d', tonumber(A.now) + A.idem_ttl * 1000)
  while #named > RECORDS_NAMED do table.remove(named, 1) end
  redis.call('HSET', APP, 'idem', table.concat(named, ' '))
end

-- ``kind``: 'created' (a new application) or 'done' (the change is made, or was so).
local function answer(kind, fields)
  fields.kind = kind
  if IDEM then
    redis.call('SET', IDEM, cjson.encode({fingerprint = A.fingerprint, answer = fields}),
               'EX', A.idem_ttl)
    -- (A replay must not outlive the application: it names the number, and would answer
    -- 'done' for an application that is gone.)
    local due = fields.application and fields.application.delete_at
    if due and tonumber(due) < tonumber(A.now) + A.idem_ttl * 1000 then
      redis.call('PEXPIREAT', IDEM, due)
    end
    -- (Only while the hash is there: HSET on a deletion due at once would bring it back.)
    if fields.application and redis.call('EXISTS', APP) == 1 then name_record() end
  end
  return cjson.encode(fields)
end

local function view()
  local h = redis.call('HMGET', APP, 'number', 'stage', 'missing', 'created_at', 'updated_at',
                       'delete_at')
  return {number = h[1], stage = h[2], missing = h[3], created_at = h[4], updated_at = h[5],
          delete_at = h[6] or nil}
end

-- The office's record of a staff action on an application (as the locations' lib.lua
-- writes theirs: the entry's id is the action's time, records older than the retention
-- are cut off). It names the application by A.ref, a keyed digest of its number, never the
-- number: a deletion by hand leaves no key naming the number, and the record of who
-- changed it stays. Of the missing documents only how many.
local function office_audit(action, before, after)
  local by = A.by or {}
  local now = tonumber(A.now)
  local id = string.format('%d-0', now)
  local last = redis.call('XREVRANGE', OFFICE_AUDIT, '+', '-', 'COUNT', 1)[1]
  if last then
    local last_ms, last_seq = string.match(last[1], '^(%d+)-(%d+)$')
    if tonumber(last_ms) >= now then id = last_ms .. '-' .. (tonumber(last_seq) + 1) end
  end
  redis.call('XADD', OFFICE_AUDIT, 'MINID', string.format('%d', math.max(0, now - (A.audit_keep_ms or 0))),
             id, 'action', action, 'person', by.person or '', 'device', by.device or '',
             'application', A.ref or '', 'before', cjson.encode(before),
             'after', cjson.encode(after))
end

local OFFICE_ACTIONS = {created = 'application_create', stage = 'application_stage',
                        pin_reset = 'application_pin'}

local function audit(action, old_stage, stage, missing)
  redis.call('XADD', AUDIT, '*', 'at', A.now, 'device', A.device, 'action', action,
             'number', A.number, 'old_stage', old_stage, 'stage', stage, 'missing', missing)
  local ok, items = pcall(cjson.decode, missing or '[]')
  local before = {}
  if old_stage and old_stage ~= '' then before.stage = old_stage end
  office_audit(OFFICE_ACTIONS[action], before,
               {stage = stage, missing = ok and type(items) == 'table' and #items or 0})
  redis.call('ZADD', RECENT, A.now, A.number)
  -- Whatever puts the number on the recent list puts it in the schedule, if it has a
  -- date: a sweep that came early (a server's clock ahead of Redis's) then sweeps again.
  local due = redis.call('HGET', APP, 'delete_at')
  if due then redis.call('ZADD', DELETING, due, A.number) end
end

-- When the application and its history are deleted: at delete_at (ms, as a string) both
-- keys expire in Redis itself, and the number waits in the schedule for the sweep to take
-- it off the recent list. Without delete_at (an open application, or a decision reopened)
-- they are kept. Returns the application as it is now, taken before the keys expire (a
-- deletion already due happens at once).
local function keep_until(delete_at)
  local app
  if delete_at then
    redis.call('HSET', APP, 'delete_at', delete_at)
    redis.call('ZADD', DELETING, delete_at, A.number)
    app = view()
    redis.call('PEXPIREAT', AUDIT, delete_at)
    redis.call('PEXPIREAT', APP, delete_at)
  else
    redis.call('HDEL', APP, 'delete_at')
    redis.call('ZREM', DELETING, A.number)
    redis.call('PERSIST', AUDIT)
    redis.call('PERSIST', APP)
    app = view()
  end
  return app
end
