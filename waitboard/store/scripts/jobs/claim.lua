-- jobs/claim.lua: take the jobs that are due, for a while. Stands alone (no prelude).
--
-- KEYS[1]  the schedule (sorted set: job key -> when it is due, ms)
-- ARGV[1]  now (ms)   ARGV[2] the lease (ms)   ARGV[3] at most this many jobs
--
-- A claimed job stays on the schedule, due again when its lease ends: a process that dies
-- while sending leaves it to the next one that looks (at least once). Answers a flat list
-- {key, kind, body, attempt, ...}; attempt counts the claims, this one included.
-- Guarantees: two processes never hold the same job's lease at the same time.
local now, lease, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)) do
  local job = redis.call('HMGET', key, 'kind', 'body')
  if job[1] then
    redis.call('ZADD', KEYS[1], now + lease, key)
    local attempt = redis.call('HINCRBY', key, 'attempt', 1)
    out[#out + 1] = key
    out[#out + 1] = job[1]
    out[#out + 1] = job[2]
    out[#out + 1] = attempt
  else
    redis.call('ZREM', KEYS[1], key)  -- (a job whose hash is gone: nothing to send)
  end
end
return out
