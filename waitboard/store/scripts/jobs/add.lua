-- jobs/add.lua: put a job on the schedule, once. Stands alone (no prelude).
--
-- KEYS[1]  the schedule (sorted set: job id -> when it is due, ms)
-- KEYS[2]  the job (hash: kind, body, attempt)
-- KEYS[3]  the job's "done" mark (a string with a time to live)
-- ARGV[1]  kind   ARGV[2] body (JSON)   ARGV[3] due (ms)
--
-- Answers 1 when the job was added, 0 when a job of this id is already scheduled or was
-- done within the mark's lifetime: a job id names one message, so whoever adds it again
-- (a second process, a repeated look at the same change) adds nothing.
-- Guarantees: the job and its place on the schedule exist together or not at all.
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then
  return 0
end
redis.call('HSET', KEYS[2], 'kind', ARGV[1], 'body', ARGV[2], 'attempt', 0)
redis.call('ZADD', KEYS[1], ARGV[3], KEYS[2])
return 1
