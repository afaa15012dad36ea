-- push/save.lua: add or replace a subscription, at most `limit` per ticket. Stands alone.
--
-- KEYS[1]  the ticket's subscriptions (hash)   KEYS[2] the location's set of such tickets
-- ARGV[1]  id   ARGV[2] JSON   ARGV[3] ticket id   ARGV[4] time to live (s)   ARGV[5] limit
-- Answers 1 when saved, 0 when the ticket has `limit` other subscriptions already.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0
   and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[5]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('SADD', KEYS[2], ARGV[3])
return 1
