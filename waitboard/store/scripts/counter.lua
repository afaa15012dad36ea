-- counter.lua: open, close, pause or resume a counter.
-- ARGV: counter, action ('open', 'close', 'pause' or 'resume'), reason (a pause's: break,
-- paperwork, meeting or other).
-- Guarantees (core/pauses.apply is the same rule in Python):
--   * a counter with a called or served ticket cannot close or pause (the person would be
--     left standing);
--   * only an open counter pauses; a paused one paused again with another reason takes
--     the new reason (a new pause of that reason), with the same reason nothing changes;
--   * open on a paused counter resumes it; resume on an open counter changes nothing, on a
--     closed one is refused; close from a pause is allowed;
--   * a paused counter has open = '0' (whatever counts open counters counts it as not
--     serving) and paused = its reason, paused_at = since when;
--   * a pause ended by resuming teaches the usual length of a pause of its reason (the
--     recent-weighted mean 'pause:<reason>' in LEARN); a pause ended by closing does not,
--     nor one that ran past pause_rule.forgotten times its usual length (forgotten).
-- ARGV pause_rule: {priors = {reason = seconds}, weight, forgotten} (core/pauses.py).
--   * every change is recorded in the audit, naming who (before and after: the state and
--     a pause's reason); a command that changes nothing records nothing.
local replayed = replay()
if replayed then return replayed end
roll_day()

local ck = counter_key(A.counter)
local c = hgetall(ck) or {open = '0', ticket = ''}
local paused = (c.paused and c.paused ~= '') and c.paused or nil
local mode = paused and 'paused' or (c.open == '1' and 'open' or 'closed')
local act = A.action
if (act == 'close' or act == 'pause') and c.ticket and c.ticket ~= '' then
  local cur = hgetall(ticket_key(c.ticket))
  if cur and (cur.status == 'called' or cur.status == 'serving') then
    return fail('counter_busy', {counter = A.counter, number = cur.number, state = cur.status})
  end
end
if (act == 'pause' or act == 'resume') and mode == 'closed' then
  return fail('counter_closed', {counter = A.counter})
end

-- A pause this long was forgotten (pauses.FORGOTTEN_FACTOR times its usual length, the
-- usual one as pauses.usual_s has it): it teaches nothing about the usual pause.
local function forgotten_after(reason)
  local rule = A.pause_rule
  local prior = tonumber(rule.priors[reason]) or 900
  local mean = tonumber(redis.call('HGET', LEARN, 'pause:' .. reason))
  local n = tonumber(redis.call('HGET', LEARN, 'pause:' .. reason .. ':n') or '0')
  local usual = prior
  if mean and n > 0 then usual = (n * mean + rule.weight * prior) / (n + rule.weight) end
  return rule.forgotten * usual
end

local function change(fields)
  count_counter_time(A.counter, ck, c)
  hset(ck, fields)
  redis.call('SADD', COUNTERS, A.counter)
end

if act == 'open' or act == 'resume' then
  if mode == 'paused' then
    local s = (A.now - ms(c.paused_at)) / 1000
    if c.paused_at and c.paused_at ~= '' and s >= 0 and s < forgotten_after(paused) then
      ewma('pause:' .. paused, s)
    end
    change({open = '1', paused = '', paused_at = '', ticket = c.ticket or ''})
    event('counter_resumed', {counter = A.counter, reason = paused})
    audit('counter_resume', {counter = A.counter, before = {state = 'paused', reason = paused},
                             after = {state = 'open'}})
  elseif mode == 'closed' then
    change({open = '1', ticket = c.ticket or ''})
    event('counter_opened', {counter = A.counter})
    audit('counter_open', {counter = A.counter, before = {state = 'closed'},
                           after = {state = 'open'}})
  end
elseif act == 'close' then
  if mode ~= 'closed' then
    change({open = '0', paused = '', paused_at = '', ticket = c.ticket or ''})
    event('counter_closed', {counter = A.counter})
    audit('counter_close', {counter = A.counter, before = {state = mode, reason = paused},
                            after = {state = 'closed'}})
  end
elseif act == 'pause' then
  if paused ~= A.reason then
    change({open = '0', paused = A.reason, paused_at = A.now, ticket = c.ticket or ''})
    event('counter_paused', {counter = A.counter, reason = A.reason})
    audit('counter_pause', {counter = A.counter, before = {state = mode, reason = paused},
                            after = {state = 'paused', reason = A.reason}})
  end
end
return answer('done', {counter = A.counter})
