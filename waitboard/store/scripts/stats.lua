-- stats.lua: one day's figures of a location. ARGV: date (YYYY-MM-DD). Read-only.
-- Asked for today, a counter's time in its present state so far counts as well.
local out = {counts = {}, waits = {}}
local flat = redis.call('HGETALL', stats_key(A.date))
for i = 1, #flat, 2 do out.counts[flat[i]] = tonumber(flat[i + 1]) end
for _, q in ipairs(A.layout.queues) do
  out.waits[q] = redis.call('LRANGE', waits_key(A.date, q), 0, -1)
end
if A.date == A.day then
  for _, c in ipairs(A.layout.counter_ids) do
    local ch = hgetall(counter_key(c))
    local since = ch and tonumber(ch.since or '')
    if since and ch.since_day == A.date and A.now > since then
      local field = 'ctime:' .. c .. ':' .. counter_state_of(ch)
      out.counts[field] = (out.counts[field] or 0) + (A.now - since) / 1000
    end
  end
end
return cjson.encode(out)
