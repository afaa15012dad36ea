-- booking.lua: one booking by its code's hash, and what the slots of its day hold.
-- Read-only. ARGV: code_hash.
local b = hgetall(booking_key(A.code_hash))
if not b then return cjson.encode({error = 'booking_not_found'}) end
local t = nil
if b.ticket and b.ticket ~= '' then
  local f = redis.call('HMGET', ticket_key(b.ticket), 'status', 'number', 'queue')
  if f[1] then t = {status = f[1], number = f[2], queue = f[3]} end
end
return cjson.encode({booking = b, ticket = t})
