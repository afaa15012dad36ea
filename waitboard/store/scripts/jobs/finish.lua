-- jobs/finish.lua: a job is done (sent, or given up): off the schedule, marked done.
-- Stands alone (no prelude).
--
-- KEYS[1]  the schedule   KEYS[2] the job   KEYS[3] its "done" mark
-- ARGV[1]  how long the mark keeps the same job id from being added again (ms)
-- Guarantees: nothing of the job is left but the mark, which expires.
redis.call('ZREM', KEYS[1], KEYS[2])
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[3], 1, 'PX', ARGV[1])
return 1
