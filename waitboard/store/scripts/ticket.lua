-- ticket.lua: read one ticket, its position and its location's state. Read-only.
-- ARGV: ticket_id.
local t = hgetall(ticket_key(A.ticket_id))
if not t then return cjson.encode({error = 'ticket_not_found', ticket = A.ticket_id}) end
return cjson.encode({ticket = t, position = position_of(t), location = read_location()})
