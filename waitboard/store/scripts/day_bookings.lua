-- day_bookings.lua: a day's bookings in slot order, with their tickets, for the staff.
-- Read-only. ARGV: date (YYYY-MM-DD).
local rows = {}
for _, h in ipairs(redis.call('ZRANGE', day_list_key(A.date), 0, 999)) do
  local b = hgetall(booking_key(h))
  if b then
    b.contact = redis.call('GET', contact_key(h)) or ''
    if b.ticket and b.ticket ~= '' then
      local f = redis.call('HMGET', ticket_key(b.ticket), 'status', 'counter')
      b.ticket_status = f[1] or ''
    end
    b.code_hash = nil
    b.request = nil
    rows[#rows + 1] = b
  end
end
return cjson.encode({bookings = rows})
