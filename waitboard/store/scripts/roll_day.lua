-- roll_day.lua: make sure the location exists (epoch, seq) and lives in today's day.
-- Called at start-up and every minute, so the lobby is cleared after midnight even when
-- no command arrives. Changes nothing (and publishes nothing) when the day is current.
roll_day()
commit()
return cjson.encode(read_location())
