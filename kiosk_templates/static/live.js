// live.js - keeps a server-rendered page current over its WebSocket.
//
// Every message is a whole snapshot (or a heartbeat), so whatever was missed, the next
// message brings the page to the right state. The connection is re-opened with jittered
// backoff; when nothing arrived for 15 s a banner says how old the data is.

const STALE_AFTER_MS = 15000;
const body = document.body;
const page = body.dataset.page;
const lang = body.dataset.lang || "de";
const texts = JSON.parse(document.getElementById("texts")?.textContent || "{}");

function t(key, params = {}) {
  let s = texts[key] ?? key;
  for (const [k, v] of Object.entries(params)) s = s.replace(`{${k}}`, v);
  return s;
}

function waitText(seconds) {
  if (seconds === null || seconds === undefined) return t("wait.unknown");
  if (seconds < 60) return t("wait.now");
  let minutes = Math.ceil(seconds / 60);
  if (minutes > 15) minutes = Math.ceil(minutes / 5) * 5;
  return t("wait.minutes", { n: minutes });
}

const nameOf = (o) => (lang === "en" ? o.name_en || o.name : o.name);
const hhmm = (iso) => (iso ? iso.slice(11, 16) : "");

function setText(root, field, value) {
  const el = root.querySelector(`[data-f="${field}"]`);
  if (el && el.textContent !== String(value)) el.textContent = value;
}

function renderQueues(root, queues) {
  for (const q of queues) {
    const row = root.querySelector(`[data-queue="${CSS.escape(q.id)}"]`);
    if (!row) continue;
    setText(row, "waiting", q.waiting);
    const stop = q.ticket_stop ? ` ${t("queue.ticket_stop")}` : "";
    setText(row, "wait", waitText(q.estimated_wait_s) + stop);
  }
}

function renderLocation(root, snap) {
  setText(root, "open", snap.open ? t("location.open") : t("location.closed"));
  renderQueues(root, snap.queues);
  setText(document, "updated", hhmm(snap.generated_at));
}

// --- lobby screen ---------------------------------------------------------------------

const seenCalls = new Set();
let firstSnapshot = true;

function chime() {
  try {
    const ctx = new (window.AudioContext || window.webkitAudioContext)();
    const notes = [659.25, 523.25];
    notes.forEach((freq, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, ctx.currentTime + i * 0.45);
      gain.gain.exponentialRampToValueAtTime(0.4, ctx.currentTime + i * 0.45 + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + i * 0.45 + 0.9);
      osc.connect(gain).connect(ctx.destination);
      osc.start(ctx.currentTime + i * 0.45);
      osc.stop(ctx.currentTime + i * 0.45 + 1);
    });
  } catch (e) {
    /* no audio on this device: the highlight still shows the call */
  }
}

function renderScreen(snap) {
  const main = document.querySelector("main");
  const wanted = new Set((main.dataset.queues || "").split(",").filter(Boolean));
  const calls = snap.calls.filter((c) => wanted.size === 0 || wanted.has(c.queue));
  const latestBox = document.querySelector("[data-latest]");
  const latest = calls[0];
  let fresh = false;
  for (const c of calls) {
    const key = `${c.id}:${c.recall}`;
    if (!seenCalls.has(key)) {
      seenCalls.add(key);
      if (!firstSnapshot) fresh = true;
    }
  }
  firstSnapshot = false;
  const call = latestBox.querySelector(".call");
  if (latest) {
    call.className = "call";
    call.replaceChildren(
      Object.assign(document.createElement("span"), { className: "number", textContent: latest.number }),
      Object.assign(document.createElement("span"), { className: "arrow", textContent: " → " }),
      Object.assign(document.createElement("span"), { className: "counter", textContent: lang === "en" ? latest.counter_name_en || latest.counter_name : latest.counter_name }),
    );
    call.querySelector(".number").dataset.f = "number";
    call.querySelector(".counter").dataset.f = "counter";
  }
  if (fresh) {
    latestBox.classList.remove("flash");
    void latestBox.offsetWidth; // restart the highlight animation
    latestBox.classList.add("flash");
    chime();
  }
  const list = document.querySelector('[data-list="calls"]');
  list.replaceChildren(...calls.slice(1, 7).map((c) => {
    const li = document.createElement("li");
    const num = Object.assign(document.createElement("span"), { className: "number", textContent: c.number });
    li.append(num, ` → ${lang === "en" ? c.counter_name_en || c.counter_name : c.counter_name}`);
    return li;
  }));
  renderQueues(document, snap.queues);
}

// --- ticket page ----------------------------------------------------------------------

let ticketSig = null;
let ticketWaiting = null;
let ticketFetchedAt = 0;

// Only what can move this ticket triggers a re-read: a call or recall, its queue getting
// shorter, a counter opening or closing - not the arrivals behind it. That keeps a
// thousand phones from re-reading on every new ticket.
async function refreshTicket(snap) {
  const main = document.querySelector("main");
  const queue = snap.queues.find((q) => q.id === main.dataset.queue);
  const sig = JSON.stringify([snap.epoch, snap.calls.map((c) => [c.id, c.recall]),
    snap.counters.map((c) => [c.id, c.open, c.number])]);
  const shorter = queue && ticketWaiting !== null && queue.waiting < ticketWaiting;
  ticketWaiting = queue ? queue.waiting : null;
  const due = Date.now() - ticketFetchedAt > 60000;
  if (sig === ticketSig && !shorter && !due) return;
  ticketSig = sig;
  ticketFetchedAt = Date.now();
  const id = document.querySelector("main").dataset.ticket;
  // Spread the re-reads of many phones over half a second.
  await new Promise((r) => setTimeout(r, Math.random() * 500));
  const res = await fetch(`/api/v1/tickets/${encodeURIComponent(id)}`, { cache: "no-store" });
  if (!res.ok) return;
  const ticket = await res.json();
  main.dataset.queue = ticket.queue;
  setText(document, "status", t(`ticket.status.${ticket.status}`));
  const goTo = document.querySelector('[data-f="go_to"]');
  goTo.hidden = !ticket.counter_name;
  if (ticket.counter_name) {
    const text = t("ticket.go_to", { counter: ticket.counter_name });
    if (goTo.textContent !== text && navigator.vibrate) navigator.vibrate([300, 150, 300]);
    goTo.textContent = text;
  }
  document.querySelector('[data-f="waiting"]').hidden = ticket.status !== "waiting";
  setText(document, "position", ticket.position ?? "");
  setText(document, "wait", waitText(ticket.estimated_wait_s));
}

// --- connection -----------------------------------------------------------------------

function onMessage(msg) {
  if (msg.type === "heartbeat") return;
  if (msg.type === "locations") {
    for (const loc of msg.locations) {
      const section = document.querySelector(`[data-location="${CSS.escape(loc.id)}"]`);
      if (section) renderLocation(section, loc);
    }
    return;
  }
  if (msg.type !== "snapshot") return;
  if (page === "screen") renderScreen(msg);
  else if (page === "location") renderLocation(document.querySelector("main"), msg);
  else if (page === "ticket") refreshTicket(msg);
}

let lastData = Date.now();
let lastDataClock = hhmm(new Date().toISOString());

function connect(attempt = 0) {
  const url = new URL(body.dataset.ws, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url);
  ws.onopen = () => { attempt = 0; body.dataset.live = "open"; };
  ws.onmessage = (ev) => {
    lastData = Date.now();
    lastDataClock = new Date().toLocaleTimeString(lang === "en" ? "en-GB" : "de-DE", { hour: "2-digit", minute: "2-digit" });
    document.querySelector("[data-stale]").hidden = true;
    try { onMessage(JSON.parse(ev.data)); } catch (e) { console.error(e); }
  };
  ws.onclose = () => {
    body.dataset.live = "closed";
    // Jittered exponential backoff, capped: a restarted server is not stormed.
    const delay = Math.min(30000, 500 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random());
    setTimeout(() => connect(attempt + 1), delay);
  };
}

function tick() {
  const clock = document.querySelector("[data-clock]");
  if (clock) clock.textContent = new Date().toLocaleTimeString("de-DE", { hour: "2-digit", minute: "2-digit" });
  const stale = document.querySelector("[data-stale]");
  if (Date.now() - lastData > STALE_AFTER_MS) {
    stale.textContent = t("stale.banner", { time: lastDataClock });
    stale.hidden = false;
  }
}

if (body.dataset.ws) {
  connect();
  setInterval(tick, 1000);
  tick();
}
