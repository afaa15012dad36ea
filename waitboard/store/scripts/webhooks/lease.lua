-- lease.lua: the one deliverer of a webhook for a location, across every server process.
-- Stands alone (no prelude).
--
-- KEYS[1]    the lease (keys.webhook_lease): a string, the holder's token, with a TTL
-- ARGV[1]    JSON {op = 'hold' | 'release', token, ttl_ms}
--
-- 'hold': answers 1 when the caller holds the lease afterwards - it held it already (the
-- TTL starts again: a renewal) or nobody did (taken) - else 0 (another holder's lease is
-- live). 'release': deletes the lease if the caller holds it; answers 1 then, else 0.
-- Guarantees: at most one holder at a time; a holder that dies without releasing loses the
-- lease when its TTL runs out, and only then can another take it.

local A = cjson.decode(ARGV[1])
local holder = redis.call('GET', KEYS[1])
if A.op == 'release' then
  if holder == A.token then
    redis.call('DEL', KEYS[1])
    return 1
  end
  return 0
end
if holder == A.token then
  redis.call('PEXPIRE', KEYS[1], A.ttl_ms)
  return 1
end
if holder then return 0 end
redis.call('SET', KEYS[1], A.token, 'PX', A.ttl_ms)
return 1
