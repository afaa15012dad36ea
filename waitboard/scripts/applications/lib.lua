-- lib.lua: the prelude of the application commands (create, stage, pin); source() puts it
-- in front of each of them. The lookup's counters (reserve, refund) stand alone.
-- Calling convention: KEYS[1] the application's hash, KEYS[2] its audit stream, KEYS[3] the
-- recent list, KEYS[4] (optional) the Idempotency-Key record; ARGV[1] JSON arguments
-- (number, now in ms as a string, device, fingerprint, idem_ttl, and the command's own).
-- Guarantees shared by the commands: a script either changes nothing and answers an error,
-- or makes its whole change with one audit entry and the number's place in the recent
-- list, atomically. A successful answer is kept under the Idempotency-Key for 24 h with a
-- fingerprint of the request: the same request gets it again and changes nothing, another
-- request under that key is refused (422). Answers never contain the PIN's record.
local A = cjson.decode(ARGV[1])
local APP, AUDIT, RECENT, IDEM = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

local function replay()
  if not IDEM then return nil end
  local raw = redis.call('GET', IDEM)
  if not raw then return nil end
  local record = cjson.decode(raw)
  if record.fingerprint ~= A.fingerprint then
    return cjson.encode({status = 422, error = 'idempotency_key_reused'})
  end
  record.answer.replayed = true
  return cjson.encode(record.answer)
end

local function answer(status, fields)
  fields.status = status
  if IDEM then
    redis.call('SET', IDEM, cjson.encode({fingerprint = A.fingerprint, answer = fields}),
               'EX', A.idem_ttl)
  end
  return cjson.encode(fields)
end

local function view()
  local h = redis.call('HMGET', APP, 'number', 'stage', 'missing', 'created_at', 'updated_at')
  return {number = h[1], stage = h[2], missing = h[3], created_at = h[4], updated_at = h[5]}
end

local function audit(action, old_stage, stage, missing)
  redis.call('XADD', AUDIT, '*', 'at', A.now, 'device', A.device, 'action', action,
             'number', A.number, 'old_stage', old_stage, 'stage', stage, 'missing', missing)
  redis.call('ZADD', RECENT, A.now, A.number)
end
