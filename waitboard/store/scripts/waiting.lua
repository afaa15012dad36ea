-- waiting.lua: the waiting tickets of every queue, in call order, for the staff pages.
-- ARGV: limit (per queue). Read-only.
local out = {}
for _, q in ipairs(A.layout.queues) do
  local rows = {}
  for _, id in ipairs(redis.call('ZRANGE', queue_key(q), 0, A.limit - 1)) do
    local f = redis.call('HMGET', ticket_key(id), 'number', 'queued_at', 'issued_at', 'transfers')
    if f[1] then
      rows[#rows + 1] = {id = id, number = f[1], queued_at = tonumber(f[2]),
                         issued_at = tonumber(f[3]), transfers = tonumber(f[4] or '0')}
    end
  end
  out[q] = rows
end
return cjson.encode(out)
