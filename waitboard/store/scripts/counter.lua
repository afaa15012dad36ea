-- counter.lua: open or close a counter.
-- ARGV: counter, open (true/false).
-- Guarantees: a counter with a called or served ticket cannot close (the person would be
-- left standing); opening an open counter (or closing a closed one) changes nothing and
-- records nothing; a change is recorded in the audit (before and after: open).
local replayed = replay()
if replayed then return replayed end
roll_day()

local ck = counter_key(A.counter)
local c = hgetall(ck) or {open = '0', ticket = ''}
local is_open = c.open == '1'
if not A.open and c.ticket and c.ticket ~= '' then
  local cur = hgetall(ticket_key(c.ticket))
  if cur and (cur.status == 'called' or cur.status == 'serving') then
    return fail('counter_busy', {counter = A.counter, number = cur.number, state = cur.status})
  end
end
if is_open ~= A.open then
  redis.call('HSET', ck, 'open', A.open and '1' or '0', 'ticket', c.ticket or '')
  redis.call('SADD', COUNTERS, A.counter)
  event(A.open and 'counter_opened' or 'counter_closed', {counter = A.counter})
  audit(A.open and 'counter_open' or 'counter_close',
        {counter = A.counter, before = {open = is_open}, after = {open = A.open}})
end
return answer('done', {counter = A.counter})
