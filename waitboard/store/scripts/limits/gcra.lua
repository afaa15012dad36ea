-- gcra.lua: charge one request to a subject's rate limits, or give one back. Stands alone
-- (no prelude).
--
-- KEYS[i]      one bucket each, all of one subject (a client address or an application
--              number, by its keyed digest): they share its hash tag, so one slot.
-- ARGV[1]      now in ms, or '' for the Redis server's own clock (TIME): every server
--              process counts on the same clock.
-- ARGV[2]      1: take; -1: give back (the request turned out right, e.g. the right PIN).
-- ARGV[1+2i]   bucket i's interval: ms per request at its sustained rate (a whole number).
-- ARGV[2+2i]   bucket i's burst: requests allowed at once.
--
-- The generic cell rate algorithm: a bucket is one number, the moment (ms) at which it is
-- at rest again - then it allows `burst` requests at once. Each request moves that moment
-- one interval later; a request is refused when it would lie more than burst * interval
-- ahead of now.
--
-- Answers {0, 0} when every bucket had room (each is charged), else {ms, i}: how long until
-- all of them have room, and which bucket is the tightest. A refused request charges
-- nothing. A give-back answers {0, 0}.
-- Guarantees: all buckets or none, atomically; at most `burst` requests at once and one per
-- interval after that, whichever process serves them; a bucket's key expires the moment
-- it is at rest (an idle subject leaves nothing in Redis); a give-back never leaves a
-- bucket with more room than at rest.

local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local cost = tonumber(ARGV[2])

local at_rest = {}
local wait, tightest = 0, 0
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[1 + 2 * i])
  local burst = tonumber(ARGV[2 + 2 * i])
  local tat = math.max(tonumber(redis.call('GET', key) or now), now)
  at_rest[i] = tat + cost * interval
  local early = at_rest[i] - now - burst * interval
  if cost > 0 and early > wait then
    wait, tightest = early, i
  end
end
if wait > 0 then
  return {math.ceil(wait), tightest}
end
for i, key in ipairs(KEYS) do
  local ttl = at_rest[i] - now
  if ttl > 0 then
    redis.call('SET', key, at_rest[i], 'PX', ttl)
  else
    redis.call('DEL', key)
  end
end
return {0, 0}
