-- push/mark.lua: store what a subscription was told - only while it exists. Stands alone.
--
-- KEYS[1]  the ticket's subscriptions (hash: id -> JSON)
-- ARGV[1]  the subscription's id   ARGV[2] its JSON
-- Answers 1 when stored, 0 when the subscription was deleted meanwhile (it stays deleted:
-- nothing comes back without a time to live or outside the location's set).
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
