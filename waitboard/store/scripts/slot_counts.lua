-- slot_counts.lua: the places taken per slot of one queue on some days. Read-only.
-- ARGV: queue, days (local days, YYYY-MM-DD).
local out = {}
for _, day in ipairs(A.days) do
  local flat = redis.call('HGETALL', slots_key(day, A.queue))
  local counts = {}
  for i = 1, #flat, 2 do counts[flat[i]] = tonumber(flat[i + 1]) end
  out[day] = counts
end
return cjson.encode(out)
