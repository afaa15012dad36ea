-- reserve.lua: one more wrong attempt on a lookup counter. Stands alone (no prelude).
-- KEYS[1]: the counter (per address or per number). ARGV: limit, window (ms).
-- Answers 0 when the attempt is allowed (and counted), else the milliseconds until the
-- window ends.
-- Guarantees: the count never passes limit; counting before the PIN is checked means
-- parallel guesses cannot slip past it (a right PIN gives its attempt back: refund.lua);
-- a counter always expires with its window, even one found without a TTL.
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
if n >= limit then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], window)
    ttl = window
  end
  return ttl
end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], window) end
return 0
