-- occupancy.lua: how many people a counter at the door counts in a waiting zone.
-- ARGV: zone, count. Guarantees: the latest count per zone, with its time; a change (and
-- only a change) is an event and rings the bell; a repeated count just says "still so".
local replayed = replay()
if replayed then return replayed end
roll_day()

local key = OCCUPANCY
local old = redis.call('HGET', key, A.zone)
local changed = not old or cjson.decode(old).count ~= A.count
redis.call('HSET', key, A.zone, cjson.encode({count = A.count, at = A.now}))
if changed then
  event('occupancy', {zone = A.zone, count = A.count})
end
return answer('done', {zone = A.zone, count = A.count})
