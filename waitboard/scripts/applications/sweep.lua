-- sweep.lua: the numbers of deleted applications off the recent list.
-- KEYS[1] the recent list, KEYS[2] the deletion schedule; ARGV[1] now (ms), ARGV[2] at most
-- this many in one call (a bounded piece of work; the caller calls again while it is busy).
-- Guarantees: only numbers whose deletion is due leave both sets - their hash and history
-- have expired by then in Redis itself; returns how many left.
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due == 0 then return 0 end
redis.call('ZREM', KEYS[1], unpack(due))
redis.call('ZREM', KEYS[2], unpack(due))
return #due
