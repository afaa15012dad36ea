-- lib.lua: the prelude of every waitboard script (scripts/__init__.py prepends it).
--
-- Calling convention (every key and the channel are built in store/keys/locations.py; its
-- table says what each key holds)
--   KEYS[1..10] the location's own keys, in keys.LOCATION_KEYS order: meta, events,
--               calls, n, open, learn, calib, counters, occ, audit. KEYS[1] decides the
--               hash slot: every key carries {location}.
--   KEYS[11]    the Idempotency-Key record of this request, when ARGV has a fingerprint
--   then        the key of each queue of the layout (in layout.queues order), then of
--               each counter (in layout.counter_ids order)
--   ARGV[1]     JSON arguments: now (ms), day (YYYY-MM-DD, local), hour (HH, local),
--               epoch (a fresh one, used only when the location has none yet), layout
--               {queues, counter_ids, counters, appointments}, channel (the doorbell),
--               templates, audit_keep_ms (how long the audit keeps a record), by
--               {person, device} (who acts: the audit's names), plus what the command
--               needs.
--   Key templates: a key named by a value the script reads in Redis - a ticket id from a
--   queue, the stored business day, a code hash from a day's list - or by a queue or
--   counter the configuration no longer has (its tickets still close when the day ends)
--   cannot be passed in KEYS. ARGV's templates hold such keys' patterns as the text
--   around their values ('wb:{sued}:waits:<day>:<queue>' as {'wb:{sued}:waits:', ':', ''}),
--   and from_template() puts the values in, in the pattern's order; a template carries
--   the location's hash tag, so its keys share the slot of KEYS[1].
--
-- Guarantees shared by all commands
--   * A script either changes nothing and answers a refusal ({error = code, facts...}:
--     a code, never a protocol's status), or makes its whole change, answers its kind
--     (answer()), bumps the location's seq once, appends the events to the capped stream and
--     publishes {epoch, seq, ts} on the location's channel - all atomically.
--   * A successful answer is stored under the Idempotency-Key for 24 h together with a
--     fingerprint of the request: the same request gets the same answer and changes
--     nothing; another request under that key is refused ('idempotency_key_reused').
--   * The first command of a new local day closes what the previous day left open and
--     restarts the numbering (the "day_end" event).

local A = cjson.decode(ARGV[1])
local META, EVENTS, CALLS, NUMBERS, OPEN, LEARN, CALIB, COUNTERS, OCCUPANCY, AUDIT =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
-- NUMBERS: today's last number per queue. OPEN: ids of tickets that are waiting, called or
-- serving. LEARN: what the estimate learns (service times, arrival gaps, band). CALIB:
-- recent "estimate:actual" pairs (seconds), newest first. COUNTERS: ids of counters that
-- were ever opened. OCCUPANCY: the latest door count per waiting zone.
local IDEM = nil
local LAYOUT_KEYS_FROM = 11
if A.fingerprint then IDEM, LAYOUT_KEYS_FROM = KEYS[11], 12 end
local QUEUE_KEYS, COUNTER_KEYS = {}, {}
for i, q in ipairs(A.layout.queues) do QUEUE_KEYS[q] = KEYS[LAYOUT_KEYS_FROM + i - 1] end
for i, c in ipairs(A.layout.counter_ids) do
  COUNTER_KEYS[c] = KEYS[LAYOUT_KEYS_FROM + #A.layout.queues + i - 1]
end

local TRANSITIONS = {{TRANSITIONS}}
local EVENTS_MAXLEN = {{EVENTS_MAXLEN}}
local CALLS_KEEP = {{CALLS_KEEP}}
local IDEM_TTL_S = {{IDEM_TTL_S}}
local CLOSED_TICKET_TTL_S = {{CLOSED_TICKET_TTL_S}}
local STATS_TTL_S = {{STATS_TTL_S}}
local LEARN_ALPHA = {{LEARN_ALPHA}}
local HOURLY_ALPHA = {{HOURLY_ALPHA}}
local PACE_TAU_S = {{PACE_TAU_S}}
local USUAL_ALPHA = {{USUAL_ALPHA}}
local USUAL_MIN_CALLS = {{USUAL_MIN_CALLS}}
local SHOW_ALPHA = {{SHOW_ALPHA}}
local CALIB_KEEP = {{CALIB_KEEP}}
local BAND_MIN_PAIRS = {{BAND_MIN_PAIRS}}
local BAND_EVERY = {{BAND_EVERY}}
local BAND_LOW_Q = {{BAND_LOW_Q}}
local BAND_HIGH_Q = {{BAND_HIGH_Q}}
local BAND_OFFSET_S = {{BAND_OFFSET_S}}
local BAND_BUCKETS_S = {{BAND_BUCKETS_S}}

local EV = {}  -- events of this command, written by commit()

-- A key from its template (the text around its one or two values) and the values. (A
-- plain join: read_location makes a key per waiting appointment.)
local function from_template(pieces, a, b)
  if b == nil then return pieces[1] .. a .. pieces[2] end
  return pieces[1] .. a .. pieces[2] .. b .. pieces[3]
end
local T = A.templates
local function ticket_key(id) return from_template(T.ticket, id) end
local function queue_key(q) return QUEUE_KEYS[q] or from_template(T.queue, q) end
local function counter_key(c) return COUNTER_KEYS[c] or from_template(T.counter, c) end
local function stats_key(day) return from_template(T.stats, day) end
local function waits_key(day, q) return from_template(T.waits, day, q) end
-- Appointments: a booking by the SHA-256 of its code; per day and queue the places taken
-- per slot (booked or arrived) and those still expected (booked, not arrived); per day
-- the bookings by slot time (the staff's list); an optional contact until the day ends.
local function booking_key(h) return from_template(T.booking, h) end
local function slots_key(day, q) return from_template(T.slots, day, q) end
local function expect_key(day, q) return from_template(T.expect, day, q) end
local function day_list_key(day) return from_template(T.day_bookings, day) end
local function contact_key(h) return from_template(T.contact, h) end
-- Lifetimes count from the caller's clock (A.now), not Redis's: a deadline is "so long
-- after this command", which is the same in production and under a test's clock.
local function ttl_until(deadline_ms) return math.max(1, deadline_ms - A.now) end
local DAY = A.day                 -- the service day this command runs in (see roll_day)

local function hgetall(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end

local function hset(key, t)
  local flat = {}
  for k, v in pairs(t) do
    flat[#flat + 1] = k
    flat[#flat + 1] = tostring(v)
  end
  if #flat > 0 then redis.call('HSET', key, unpack(flat)) end
end

local function event(kind, fields)
  fields.type = kind
  EV[#EV + 1] = fields
end

-- Bump seq once, append this command's events to the stream, ring the doorbell.
local function commit()
  if #EV == 0 then return end
  local seq = redis.call('HINCRBY', META, 'seq', 1)
  for _, e in ipairs(EV) do
    local flat = {'seq', seq, 'at', A.now}
    for k, v in pairs(e) do
      flat[#flat + 1] = k
      flat[#flat + 1] = tostring(v)
    end
    redis.call('XADD', EVENTS, 'MAXLEN', '~', EVENTS_MAXLEN, '*', unpack(flat))
  end
  local epoch = redis.call('HGET', META, 'epoch')
  redis.call('PUBLISH', A.channel, cjson.encode({epoch = epoch, seq = seq, ts = A.now}))
  EV = {}
end

-- The audit (core/audit.py): one record of a staff action, written by the script that
-- makes the change and only when it makes one (a refusal or a replay returns before), so
-- no action is without its record and none is recorded twice. It names the actor as the
-- caller says (A.by: a person's pseudonymous id, a device), never a name, and of a
-- citizen nothing but a ticket's number. The entry's id is the action's time (the
-- caller's clock, as every time here; one later than the last entry if that clock is
-- behind it), so the records older than the retention are cut off by their id.
-- ``fields``: ticket, number, queue, counter (as they apply), before and after (tables of
-- the state the action changed). A ticket's id is the address of its citizen's page: the
-- record keeps only a digest of it (core/audit.py's ticket_ref: the first 16 hex digits
-- of its SHA-1), which tells one day's A001 from another's.
local AUDIT_FIELDS = {'ticket', 'number', 'queue', 'counter', 'before', 'after'}
local function ticket_ref(id)
  if id == nil or id == '' then return '' end
  return string.sub(redis.sha1hex(id), 1, 16)
end
local function audit(action, fields)
  local by = A.by or {}
  -- (Every field, in one order: a stream keeps the names of fields once for entries that
  -- have the same ones as the first of their node.)
  local flat = {'action', action, 'person', by.person or '', 'device', by.device or ''}
  for _, k in ipairs(AUDIT_FIELDS) do
    local v = fields[k]
    if k == 'ticket' then v = ticket_ref(v) end
    flat[#flat + 1] = k
    if type(v) == 'table' then flat[#flat + 1] = cjson.encode(v) else flat[#flat + 1] = tostring(v or '') end
  end
  local id = string.format('%d-0', A.now)
  local last = redis.call('XREVRANGE', AUDIT, '+', '-', 'COUNT', 1)[1]
  if last then
    local last_ms, last_seq = string.match(last[1], '^(%d+)-(%d+)$')
    if tonumber(last_ms) >= A.now then id = last_ms .. '-' .. (tonumber(last_seq) + 1) end
  end
  redis.call('XADD', AUDIT, 'MINID', string.format('%d', math.max(0, A.now - A.audit_keep_ms)), id,
             unpack(flat))
end

-- A request that was answered before under the same Idempotency-Key.
local function replay()
  if not IDEM then return nil end
  local stored = redis.call('GET', IDEM)
  if not stored then return nil end
  local rec = cjson.decode(stored)
  if rec.fingerprint ~= A.fingerprint then
    return cjson.encode({error = 'idempotency_key_reused'})
  end
  rec.response.replayed = true
  return cjson.encode(rec.response)
end

-- A refusal: its code and the facts behind it, never a protocol's status (the edges
-- choose that); Python makes it an error of the core (core/refusals.py).
local function fail(code, extra)
  commit()  -- a day change may already have happened in this call; it stands
  local r = extra or {}
  r.error = code
  return cjson.encode(r)
end

local function close_ticket(id, status, reason)
  local key = ticket_key(id)
  redis.call('HSET', key, 'status', status, 'closed_at', A.now, 'reason', reason)
  redis.call('SREM', OPEN, id)
  -- Closed tickets stay readable (a citizen's page shows "done") and then disappear.
  redis.call('EXPIRE', key, CLOSED_TICKET_TTL_S)
end

-- How many of a day's bookings came on time, per appointment queue: those still expected
-- at the day's end did not come, the late ones waited as walk-ins. The estimate counts
-- the bookings still to come by this share (a recent-weighted mean over days).
local function learn_show_up(day)
  local stats = stats_key(day)
  for q, _ in pairs(A.layout.appointments or {}) do
    local missed = 0
    for _, n in ipairs(redis.call('HVALS', expect_key(day, q))) do
      if tonumber(n) > 0 then missed = missed + tonumber(n) end
    end
    local on_time = tonumber(redis.call('HGET', stats, 'on_time:' .. q) or '0')
    local late = tonumber(redis.call('HGET', stats, 'late:' .. q) or '0')
    local total = on_time + late + missed
    if total > 0 then
      redis.call('HINCRBYFLOAT', stats, 'missed:' .. q, missed)
      redis.call('EXPIRE', stats, STATS_TTL_S)
      local field = 'show:' .. q
      local old = tonumber(redis.call('HGET', LEARN, field))
      local n = tonumber(redis.call('HGET', LEARN, field .. ':n') or '0')
      local share = on_time / total
      if old then share = old + SHOW_ALPHA * (share - old) end
      redis.call('HSET', LEARN, field, share, field .. ':n', n + 1)
    end
  end
end

-- Start the day when it is not today's yet: close what is left open, restart numbering.
-- Only forwards: a caller whose clock is a little behind at midnight runs in the stored
-- (newer) day instead of rolling the location back into yesterday.
-- It walks the set of open tickets and of counters ever opened, not the configuration,
-- so tickets of a queue or counter removed from the configuration are closed as well.
local function roll_day()
  local stored = redis.call('HGET', META, 'day')
  if stored and A.day <= stored then
    DAY = stored
    return
  end
  if not redis.call('HGET', META, 'epoch') then
    redis.call('HSET', META, 'epoch', A.epoch, 'seq', 0, 'order', 0)
  end
  if stored then
    local closed = 0
    for _, id in ipairs(redis.call('SMEMBERS', OPEN)) do
      local t = hgetall(ticket_key(id))
      if t and TRANSITIONS[t.status] and TRANSITIONS[t.status]['day_end'] then
        redis.call('ZREM', queue_key(t.queue), id)
        close_ticket(id, TRANSITIONS[t.status]['day_end'], 'day_end')
        closed = closed + 1
      end
    end
    redis.call('DEL', OPEN)
    for _, c in ipairs(redis.call('SMEMBERS', COUNTERS)) do
      -- (The last stretch of a counter left open is not counted: it ended unseen.)
      redis.call('HSET', counter_key(c), 'open', '0', 'ticket', '', 'paused', '',
                 'paused_at', '', 'since', '')
    end
    redis.call('DEL', CALLS, NUMBERS)
    learn_show_up(stored)
    event('day_end', {day = stored, closed = closed})
  else
    event('day_start', {day = A.day})
  end
  redis.call('HSET', META, 'day', A.day)
end

local function position_of(t)
  if t.status ~= 'waiting' then return nil end
  local rank = redis.call('ZRANK', queue_key(t.queue), t.id)
  if rank then return rank + 1 end
  return nil
end

-- Everything the estimate and the public snapshot need, read in this same call.
local function read_location()
  local m = hgetall(META) or {}
  local queues = {}
  for _, q in ipairs(A.layout.queues) do
    local waiting = redis.call('ZCARD', queue_key(q))
    local entry = {waiting = waiting}
    if waiting > 0 then
      local head = redis.call('ZRANGE', queue_key(q), 0, 0)[1]
      entry.head_queued_at = tonumber(redis.call('HGET', ticket_key(head), 'queued_at'))
    end
    queues[q] = entry
  end
  local counters = {}
  for c, _ in pairs(A.layout.counters) do
    local ch = hgetall(counter_key(c)) or {}
    local entry = {open = ch.open == '1'}
    if ch.paused and ch.paused ~= '' then
      entry.paused, entry.paused_at = ch.paused, tonumber(ch.paused_at)
    end
    if ch.ticket and ch.ticket ~= '' then
      local t = hgetall(ticket_key(ch.ticket))
      if t then
        entry.ticket = {id = t.id, number = t.number, queue = t.queue, status = t.status,
                        called_at = tonumber(t.called_at), started_at = tonumber(t.started_at)}
      end
    end
    counters[c] = entry
  end
  local learn = {}
  local flat = redis.call('HGETALL', LEARN)
  for i = 1, #flat, 2 do
    local name = flat[i]
    if string.sub(name, 1, 13) ~= 'last_arrival:' and string.sub(name, 1, 6) ~= 'usual_' then
      learn[name] = tonumber(flat[i + 1])
    end
  end
  local occupancy = {}
  local occ = redis.call('HGETALL', OCCUPANCY)
  for i = 1, #occ, 2 do occupancy[occ[i]] = cjson.decode(occ[i + 1]) end
  -- For the estimate: the slots of those waiting with an appointment (in call order), and
  -- today's bookings still expected, which will take counter time at their slot.
  local appointments = {}
  local day = m.day or DAY
  for q, _ in pairs(A.layout.appointments or {}) do
    local slots = {}
    for _, id in ipairs(redis.call('ZRANGE', queue_key(q), 0, 199)) do
      slots[#slots + 1] = tonumber(redis.call('HGET', ticket_key(id), 'slot_at') or '0')
    end
    local expected = {}
    local flat = redis.call('HGETALL', expect_key(day, q))
    for i = 1, #flat, 2 do
      local n = tonumber(flat[i + 1])
      if n > 0 then expected[#expected + 1] = {tonumber(flat[i]), n} end
    end
    appointments[q] = {slots = slots, expected = expected}
  end
  return {epoch = m.epoch, seq = tonumber(m.seq or '0'), day = m.day, queues = queues,
          counters = counters, calls = redis.call('LRANGE', CALLS, 0, CALLS_KEEP - 1),
          learn = learn, occupancy = occupancy, appointments = appointments}
end

-- The successful answer (also "nobody waits"): stored for the Idempotency-Key, returned.
-- ``kind``: 'created' (something new, e.g. a ticket), 'done' (the change is made, or was
-- so already) or 'nothing' (nothing to do: nobody waits). The stored copy leaves out the
-- list of calls: the answer does not need it, and it is most of the size of a location's
-- state.
local function answer(kind, fields)
  commit()
  fields.kind = kind
  local loc = read_location()
  fields.location = loc
  if IDEM then
    local calls = loc.calls
    loc.calls = nil
    redis.call('SET', IDEM, cjson.encode({fingerprint = A.fingerprint, response = fields}),
               'EX', IDEM_TTL_S)
    loc.calls = calls
  end
  return cjson.encode(fields)
end

-- Time per counter state, for the day's figures: a counter's state ('serving' while it has
-- a ticket, 'idle' when open without one, 'paused:<reason>', 'closed') holds since its
-- field 'since'; before the state changes, that stretch goes into the day's figures as
-- 'ctime:<counter>:<state>' (seconds). Closed time counts from the counter's first change
-- of the day (the night before it is not "closed time" of the office's day).
local function counter_state_of(c)
  if c.paused and c.paused ~= '' then return 'paused:' .. c.paused end
  if c.open ~= '1' then return 'closed' end
  if c.ticket and c.ticket ~= '' then return 'serving' end
  return 'idle'
end

local function count_counter_time(counter, ck, c)
  local since = tonumber(c.since or '')
  if since and c.since_day == DAY and A.now > since then
    local key = stats_key(DAY)
    redis.call('HINCRBYFLOAT', key, 'ctime:' .. counter .. ':' .. counter_state_of(c),
               (A.now - since) / 1000)
    redis.call('EXPIRE', key, STATS_TTL_S)
  end
  redis.call('HSET', ck, 'since', A.now, 'since_day', DAY)
end

-- A ticket leaves its counter (done, no-show, cancelled, transferred).
local function free_counter(t)
  if t.counter and t.counter ~= '' then
    local ck = counter_key(t.counter)
    local c = hgetall(ck)
    if c and c.ticket == t.id then
      count_counter_time(t.counter, ck, c)
      redis.call('HSET', ck, 'ticket', '')
    end
  end
end

local function next_order()
  return redis.call('HINCRBY', META, 'order', 1)
end

-- Learning and statistics ------------------------------------------------------------------

-- Recent-weighted mean: each new observation moves it by ``alpha`` of the difference.
local function ewma(field, value, alpha)
  local old = tonumber(redis.call('HGET', LEARN, field))
  local n = tonumber(redis.call('HGET', LEARN, field .. ':n') or '0')
  local new = value
  if old then new = old + (alpha or LEARN_ALPHA) * (value - old) end
  redis.call('HSET', LEARN, field, new, field .. ':n', n + 1)
end

-- The day's figures, kept long after the event stream has been trimmed.
local function stat(field, by)
  local key = stats_key(DAY)
  redis.call('HINCRBYFLOAT', key, field, by)
  redis.call('EXPIRE', key, STATS_TTL_S)
end

local function ms(value) return tonumber(value) or 0 end

-- A ticket leaves its counter: the counter was busy with it since the call. That time
-- (service, a no-show's wait, all of it) is what the estimate needs to learn.
local function learn_service(t)
  if not t.counter or t.counter == '' or not t.called_at or t.called_at == '' then return end
  local s = (A.now - ms(t.called_at)) / 1000
  if s < 0 then return end
  ewma('svc:' .. t.queue, s)
  ewma('svc:' .. t.queue .. ':' .. t.counter, s)
  -- Offices repeat their day: how long this hour's services took, across days.
  ewma('svc:' .. t.queue .. '@' .. A.hour, s, HOURLY_ALPHA)
end

-- A queue's call counts towards its pace: a count of its calls, each fading with the time
-- constant PACE_TAU_S (it holds about the last ten minutes' calls), since the
-- stretch of calls began (a call after a long pause begins a new one) and how many calls
-- the stretch has had. estimate.pace_wait_s reads the rate of calls from it.
local function learn_pace(queue)
  local at = tonumber(redis.call('HGET', LEARN, 'pace_at:' .. queue))
  local count, n = 0, 0
  if at and A.now - at <= 4 * PACE_TAU_S * 1000 then
    count = tonumber(redis.call('HGET', LEARN, 'pace:' .. queue) or '0')
    count = count * math.exp(-math.max(0, A.now - at) / (PACE_TAU_S * 1000))
    n = tonumber(redis.call('HGET', LEARN, 'pace_n:' .. queue) or '0')
  else
    redis.call('HSET', LEARN, 'pace_from:' .. queue, A.now)
  end
  redis.call('HSET', LEARN, 'pace:' .. queue, count + 1, 'pace_at:' .. queue, A.now,
             'pace_n:' .. queue, n + 1)
end

-- A queue's usual rate of calls per weekday and hour, across weeks (core/usual.py):
-- how many of its people were called in an hour ('rate:A@tue09', calls an hour), a
-- recent-weighted mean folded in at the queue's first call of a later hour. The rate is
-- read from the hour's calls and the time from its first call to its last, so an hour the
-- office opens or closes within is not taken for a slow one (n calls spread evenly span
-- (n - 1)/(n + 1) of their time); an hour of fewer than USUAL_MIN_CALLS calls gives no
-- rate. The hour at work is a number YYYYMMDDHH of the service day; the 'usual_' fields
-- are its bookkeeping, not read by the estimate.
local WEEKDAY_NAMES = {'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'}
local function weekday_of(y, m, d)  -- 1 = Monday (Sakamoto's rule)
  local offsets = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4}
  if m < 3 then y = y - 1 end
  local sunday0 = (y + math.floor(y / 4) - math.floor(y / 100) + math.floor(y / 400)
                   + offsets[m] + d) % 7
  return (sunday0 + 6) % 7 + 1
end

local function fold_hour(queue, was)
  local f = redis.call('HMGET', LEARN, 'usual_n:' .. queue, 'usual_first:' .. queue,
                       'usual_last:' .. queue)
  local calls, first, last = tonumber(f[1] or '0'), tonumber(f[2] or '0'), tonumber(f[3] or '0')
  if calls < USUAL_MIN_CALLS or last <= first then return end
  local day = math.floor(was / 100)
  local wd = weekday_of(math.floor(day / 10000), math.floor(day / 100) % 100, day % 100)
  local rate = calls * (calls - 1) / (calls + 1) / ((last - first) / 3600000)
  ewma(string.format('rate:%s@%s%02d', queue, WEEKDAY_NAMES[wd], was % 100), rate, USUAL_ALPHA)
end

local function learn_hour(queue)
  local y, m, d = string.match(DAY, '^(%d+)-(%d+)-(%d+)$')
  if not y then return end
  local mark = ((tonumber(y) * 100 + tonumber(m)) * 100 + tonumber(d)) * 100 + tonumber(A.hour)
  local was = tonumber(redis.call('HGET', LEARN, 'usual_mark:' .. queue))
  if was ~= mark then
    if was then fold_hour(queue, was) end
    redis.call('HSET', LEARN, 'usual_mark:' .. queue, mark, 'usual_n:' .. queue, 0,
               'usual_first:' .. queue, A.now)
  end
  redis.call('HINCRBY', LEARN, 'usual_n:' .. queue, 1)
  redis.call('HSET', LEARN, 'usual_last:' .. queue, A.now)
end

-- A ticket joins a queue: learn the gap between arrivals (for queues that take capacity).
local function learn_arrival(queue)
  local field = 'last_arrival:' .. queue
  local last = tonumber(redis.call('HGET', LEARN, field))
  if last and A.now > last and A.now - last < 2 * 3600 * 1000 then
    ewma('gap:' .. queue, (A.now - last) / 1000)
  end
  redis.call('HSET', LEARN, field, A.now)
end

-- A ticket is called: its wait goes into the day's figures; if it was estimated at issue
-- (and not transferred since), the pair goes into the calibration of the ranges: the band
-- is the low and high quantile of ln((actual + s) / (estimate + s)) over recent pairs (a
-- coming hour slower than it seemed stretches a whole wait: its errors are ratios).
local function learn_call(t)
  local wait_s = (A.now - ms(t.queued_at)) / 1000
  local key = waits_key(DAY, t.queue)
  redis.call('RPUSH', key, string.format('%.3f', wait_s))
  redis.call('EXPIRE', key, STATS_TTL_S)
  stat('called:' .. t.queue, 1)
  stat('wait_sum:' .. t.queue, wait_s)
  if t.est and t.est ~= '' and (t.transfers or '0') == '0' then
    local actual = (A.now - ms(t.issued_at)) / 1000
    redis.call('LPUSH', CALIB, string.format('%.0f:%.0f', tonumber(t.est), actual))
    redis.call('LTRIM', CALIB, 0, CALIB_KEEP - 1)
    -- The bands move little with one pair more: they are worked out again on every
    -- BAND_EVERY-th pair (sorting all kept pairs on every call was most of its cost).
    if redis.call('HINCRBY', LEARN, 'calib_n', 1) % BAND_EVERY ~= 0 then return end
    -- One band per estimate size (the spread of a 40-minute estimate is not that of a
    -- 4-minute one), and one over all pairs for sizes with too few of them yet.
    local all, by_bucket = {}, {}
    for _, pair in ipairs(redis.call('LRANGE', CALIB, 0, -1)) do
      local e, a = string.match(pair, '^([%d.]+):([%d.]+)$')
      if e then
        e, a = tonumber(e), tonumber(a)
        local z = math.log((a + BAND_OFFSET_S) / (e + BAND_OFFSET_S))
        all[#all + 1] = z
        local b = 0
        for i, edge in ipairs(BAND_BUCKETS_S) do
          if e >= edge then b = i end
        end
        by_bucket[b] = by_bucket[b] or {}
        table.insert(by_bucket[b], z)
      end
    end
    -- The low and high quantile make the range; the median says how far the forecast
    -- tends to be off (a sum of long-tailed services is skewed), and corrects it.
    local function band(values, suffix)
      if #values < BAND_MIN_PAIRS then
        redis.call('HDEL', LEARN, 'ratio_lo' .. suffix, 'ratio_hi' .. suffix, 'ratio_mid' .. suffix)
        return
      end
      table.sort(values)
      local function q(p) return values[math.min(#values, math.max(1, math.floor(p * #values + 0.5)))] end
      redis.call('HSET', LEARN, 'ratio_lo' .. suffix, q(BAND_LOW_Q), 'ratio_hi' .. suffix,
                 q(BAND_HIGH_Q), 'ratio_mid' .. suffix, q(0.5))
    end
    band(all, '')
    for b = 0, #BAND_BUCKETS_S do band(by_bucket[b] or {}, '@' .. b) end
  end
end

-- body --
