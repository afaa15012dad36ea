-- note_estimate.lua: remember the estimate a new ticket was given (for the calibration of
-- ranges when it is called). ARGV: ticket_id, est (seconds). Writes only to a waiting
-- ticket that has none yet; changes nothing else and rings no bell.
local key = ticket_key(A.ticket_id)
if redis.call('HGET', key, 'status') == 'waiting' and not redis.call('HGET', key, 'est') then
  redis.call('HSET', key, 'est', A.est)
end
return cjson.encode({kind = 'done'})
