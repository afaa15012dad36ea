-- push/delete.lua: delete one subscription; the ticket leaves the location's set with its
-- last one. Stands alone.
--
-- KEYS[1]  the ticket's subscriptions (hash)   KEYS[2] the location's set of such tickets
-- ARGV[1]  the subscription's id               ARGV[2] the ticket's id
-- Answers 1 when it existed.
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return removed
