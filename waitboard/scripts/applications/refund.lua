-- refund.lua: the attempt was right after all: give it back. Stands alone (no prelude).
-- KEYS[1]: the counter. No ARGV. Answers the count before the refund.
-- Guarantees: never below zero, and never a counter without TTL (DECR keeps the TTL; a
-- missing counter is not created).
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return n
