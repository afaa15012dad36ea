-- service_levels/open.lua: a queue has left its service-level target - open its alert
-- episode and put the alert on the location's event stream, once. Stands alone.
--
-- KEYS[1]    the queue's episode (keys.service_level): a hash, `opened` (ms), `calm` (ms),
--            `mailed` (0/1)
-- KEYS[2]    the location's meta hash (its seq: the alert carries the current one)
-- KEYS[3]    the location's event stream (keys.events)
-- ARGV[1]    JSON {now = ms, maxlen = n, fields = {...}} (fields: what the alert says)
--
-- Answers {1, now} when it opened the episode (the alert is on the stream), or {0, opened}
-- when an episode was open already (another process, a look before): nothing is added.
-- Guarantee: one `service_level` event per episode, however many processes look at once.
-- The seq is not bumped: no screen shows the alert, and a bump without a doorbell would
-- only make every hub reload the location.

local A = cjson.decode(ARGV[1])
local opened = redis.call('HGET', KEYS[1], 'opened')
if opened then
  redis.call('HDEL', KEYS[1], 'calm')
  return {0, tonumber(opened)}
end
redis.call('HSET', KEYS[1], 'opened', A.now, 'mailed', 0)
redis.call('HDEL', KEYS[1], 'calm')
local seq = redis.call('HGET', KEYS[2], 'seq') or '0'
local flat = {'seq', seq, 'at', A.now, 'type', 'service_level'}
for k, v in pairs(A.fields) do
  flat[#flat + 1] = k
  flat[#flat + 1] = tostring(v)
end
redis.call('XADD', KEYS[3], 'MAXLEN', '~', A.maxlen, '*', unpack(flat))
return {1, A.now}
