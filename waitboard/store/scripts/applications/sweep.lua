-- sweep.lua: the numbers of deleted applications off the recent list.
-- KEYS[1] the recent list, KEYS[2] the deletion schedule; ARGV[1] at most this many in one
-- call (a bounded piece of work; the caller calls again while it is busy).
-- Guarantees: only numbers whose deletion is due by Redis's own clock leave both sets -
-- the clock their hash and history expire by, so neither goes before the other; returns
-- how many left.
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
if #due == 0 then return 0 end
redis.call('ZREM', KEYS[1], unpack(due))
redis.call('ZREM', KEYS[2], unpack(due))
return #due
