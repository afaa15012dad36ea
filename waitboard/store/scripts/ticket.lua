-- ticket.lua: read one ticket, its position and its location's state. Read-only.
-- ARGV: ticket_id.
local t = hgetall(ticket_key(A.ticket_id))
if not t then return cjson.encode({status = 404}) end
return cjson.encode({status = 200, ticket = t, position = position_of(t), location = read_location()})
