-- cursor.lua: where a webhook's delivery of one location stands. Stands alone (no prelude).
--
-- KEYS[1]    the lease (keys.webhook_lease)
-- KEYS[2]    the cursor (keys.webhook_cursor): a hash, `after` (the stream id of the last
--            entry delivered or skipped) and `seq` (that entry's seq)
-- KEYS[3]    the location's event stream (keys.events)
-- KEYS[4]    the location's meta hash (keys.meta: its `seq`)
-- ARGV[1]    JSON {op = 'start' | 'advance', token, after, seq}
--
-- 'start': answers {after, seq}: the stored cursor, or - for a webhook new to the location -
-- one at the stream's newest entry (a new webhook gets what happens from now on, not the
-- stream's history), or at '0-0' with the location's seq when the stream is empty.
-- 'advance': stores {after, seq}; answers 1.
-- Both answer 0 and change nothing unless the caller holds the lease: a deliverer whose
-- lease ran out (it stalled, another took over) can never move the cursor.
-- All four keys carry the location's hash tag: one slot.

local A = cjson.decode(ARGV[1])
if redis.call('GET', KEYS[1]) ~= A.token then return 0 end
if A.op == 'advance' then
  redis.call('HSET', KEYS[2], 'after', A.after, 'seq', A.seq)
  return 1
end
local stored = redis.call('HMGET', KEYS[2], 'after', 'seq')
if stored[1] then return {stored[1], stored[2] or '0'} end
local after, seq = '0-0', redis.call('HGET', KEYS[4], 'seq') or '0'
local newest = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)[1]
if newest then
  after = newest[1]
  local fields = newest[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'seq' then seq = fields[i + 1] end
  end
end
redis.call('HSET', KEYS[2], 'after', after, 'seq', seq)
return {after, seq}
