-- stats.lua: one day's figures of a location. ARGV: date (YYYY-MM-DD). Read-only.
local out = {counts = {}, waits = {}}
local flat = redis.call('HGETALL', stats_key(A.date))
for i = 1, #flat, 2 do out.counts[flat[i]] = tonumber(flat[i + 1]) end
for _, q in ipairs(A.layout.queues) do
  out.waits[q] = redis.call('LRANGE', waits_key(A.date, q), 0, -1)
end
return cjson.encode(out)
