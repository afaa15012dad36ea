-- jobs/later.lua: try a job again later (the receiver was busy or down). Stands alone.
--
-- KEYS[1]  the schedule   KEYS[2] the job
-- ARGV[1]  when it is due again (ms)
-- Answers 0 when the job is gone meanwhile (finished by another process).
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], KEYS[2])
return 1
