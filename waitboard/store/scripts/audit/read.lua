-- audit/read.lua: one stream of the audit (core/audit.py), newest first, narrowed in Redis.
-- KEYS[1] the stream; ARGV[1] JSON: high, low (XREVRANGE's bounds: ids, '+', '-', or
-- '(' and an id), limit, scan_max, and the filter's person, action, application, ticket
-- (a ticket's reference; each absent: any).
-- Read-only. Answers {entries = {{id, {field, value, ...}}, ...}, more, cut}: at most
-- limit + 1 entries that match (more: the stream has older ones that may), after reading
-- at most scan_max entries (cut: it stopped there, at the entry ``last``; the caller goes
-- on from there with another call, so that no one call keeps Redis long). Filtering here,
-- not in the caller, sends only what matches: one person's actions out of a year's.
local A = cjson.decode(ARGV[1])
local BATCH = 500
local found, read, high = {}, 0, A.high
local function matches(fields)
  local f = {}
  for i = 1, #fields, 2 do f[fields[i]] = fields[i + 1] end
  return (not A.person or f.person == A.person) and (not A.action or f.action == A.action)
    and (not A.application or f.application == A.application)
    and (not A.ticket or f.ticket == A.ticket)
end
while true do
  local batch = redis.call('XREVRANGE', KEYS[1], high, A.low, 'COUNT', BATCH)
  for _, entry in ipairs(batch) do
    if matches(entry[2]) then
      found[#found + 1] = entry
      if #found > A.limit then return cjson.encode({entries = found, more = true}) end
    end
  end
  read = read + #batch
  if #batch < BATCH then return cjson.encode({entries = found, more = false}) end
  if read >= A.scan_max then
    return cjson.encode({entries = found, more = true, cut = true, last = batch[#batch][1]})
  end
  high = '(' .. batch[#batch][1]
end
