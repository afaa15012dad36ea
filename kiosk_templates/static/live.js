// live.js - keeps a server-rendered page current over its WebSocket. No build step.
//
// Every message is a whole snapshot (or a heartbeat), so whatever was missed, the next one
// brings the page to the right state. The connection re-opens by itself with jittered
// backoff; when nothing arrived for 15 s a banner says how old the data is. Staff pages
// re-fetch their server-rendered live part instead of building HTML here.

import { gettext, ngettext, pgettext, weekdays } from "./gettext.js";

const STALE_AFTER_MS = 15000;
const ANNOUNCE_EVERY_MS = 60000;
const ANNOUNCE_QUIET_MS = 2000;
const body = document.body;
const page = body.dataset.page;
const lang = body.dataset.lang || "de";
// Times are the office's (a lobby PC or a phone may be set to another zone, or to UTC).
const timeZone = body.dataset.tz || undefined;
const clockText = (date) => date.toLocaleTimeString("de-DE", { hour: "2-digit", minute: "2-digit", timeZone });

// A ticket's state said to its holder (the server's t.label("ticket.status", ...)).
const TICKET_STATUS = {
  waiting: gettext("Sie warten"),
  called: gettext("Sie werden aufgerufen"),
  serving: gettext("Sie werden bedient"),
  done: gettext("Erledigt – vielen Dank"),
  no_show: gettext("Nicht erschienen"),
  cancelled: gettext("Storniert"),
};

// The same phrasing as the server's Translator.wait().
function waitText(seconds) {
  if (seconds === null || seconds === undefined) return gettext("unbekannt");
  if (seconds < 60) return gettext("sofort");
  let minutes = Math.ceil(seconds / 60);
  if (minutes > 15) minutes = Math.ceil(minutes / 5) * 5;
  if (minutes < 60) return gettext("ca.\u00a0{n}\u00a0Min.", { n: minutes });
  minutes = Math.ceil(minutes / 10) * 10;
  const h = Math.floor(minutes / 60), n = minutes % 60;
  return n ? gettext("ca.\u00a0{h}\u00a0Std. {n}\u00a0Min.", { h, n }) : gettext("ca.\u00a0{h}\u00a0Std.", { h });
}

// The same phrasing as the server's Translator.wait_range().
function rangeText(bounds) {
  if (!bounds || bounds[1] < 60) return "";
  let lo = Math.floor(bounds[0] / 60), hi = Math.ceil(bounds[1] / 60);
  if (lo > 15) lo = Math.floor(lo / 5) * 5;
  if (hi > 15) hi = Math.ceil(hi / 5) * 5;
  if (lo === 0) return gettext("bis\u00a0{hi}\u00a0Min.", { hi });
  return gettext("{lo}–{hi}\u00a0Min.", { lo, hi: Math.max(hi, lo + 1) });
}

// The same phrasing as the server's Translator.opening().
function openingText(snap) {
  // (Open until midnight is "bis 24:00 Uhr", as the opening hours write it.)
  if (snap.open) return snap.closes_at ? gettext("geöffnet bis {time} Uhr", { time: snap.closes_at.slice(11, 16).replace("00:00", "24:00") }) : pgettext("hours.open", "geöffnet");
  if (!snap.opens_at) return gettext("derzeit geschlossen");
  if (snap.opens_at.slice(0, 10) === snap.generated_at.slice(0, 10)) return gettext("öffnet heute um {time} Uhr", { time: snap.opens_at.slice(11, 16) });
  const day = new Date(`${snap.opens_at.slice(0, 10)}T12:00:00`).getDay(); // 0 = Sunday
  return gettext("öffnet {day} {time} Uhr", { day: weekdays[(day + 6) % 7], time: snap.opens_at.slice(11, 16) });
}

// The office's names in the page's language, by their German name (the server embeds
// them: a snapshot carries German and English only).
const names = JSON.parse(document.getElementById("texts")?.textContent || "{}").names || {};
const nameOf = (o) => names[o.name] ?? (lang === "en" && o.name_en ? o.name_en : o.name);
// The voice that reads a call aloud speaks the page's language.
const VOICES = { de: "de-DE", ls: "de-DE", en: "en-GB", tr: "tr-TR", ar: "ar", uk: "uk-UA", ru: "ru-RU" };
const hhmm = (iso) => (iso ? iso.slice(11, 16) : "");

function setText(root, field, value) {
  const el = root.querySelector(`[data-f="${field}"]`);
  if (el && el.textContent !== String(value)) el.textContent = value;
  return el;
}

function renderQueues(root, queues) {
  for (const q of queues) {
    const row = root.querySelector(`[data-queue="${CSS.escape(q.id)}"]`);
    if (!row) continue;
    setText(row, "waiting", q.waiting);
    setText(row, "waiting-label", ngettext("wartet", "warten", q.waiting));
    setText(row, "wait", q.appointments ? gettext("nach Termin") : waitText(q.estimated_wait_s));
    setText(row, "range", rangeText(q.estimated_wait_range_s));
    const stop = row.querySelector('[data-f="stop"]');
    if (stop) stop.hidden = !q.ticket_stop;
    if (row.dataset.state !== undefined) {
      row.dataset.state = q.ticket_stop ? "stop" : q.open_counters ? "open" : q.paused_counters ? "paused" : "closed";
      // Whether a counter serves it now (also in a lunch break, for those still waiting);
      // a paused counter serves nobody, but is coming back: "Pause", never "open".
      setText(row, "state", q.ticket_stop ? gettext("Ausgabestopp") : q.open_counters ? pgettext("queue.open", "Schalter geöffnet") : q.paused_counters ? pgettext("counter.paused", "Pause") : gettext("Kein Schalter geöffnet"));
    }
  }
}

function renderOccupancy(root, zones) {
  for (const z of zones || []) {
    const el = root.querySelector(`[data-zone="${CSS.escape(z.zone)}"]`);
    if (!el) continue;
    el.hidden = z.count === null;
    if (z.count === null) continue;
    const capacity = z.capacity ? ` ${gettext("(von {capacity} Plätzen)", { capacity: z.capacity })}` : "";
    setText(el, "occupancy-text", gettext("{name}: {count} Personen", { name: nameOf(z), count: z.count }) + capacity);
  }
}

function renderOpening(root, snap) {
  const opening = root.querySelector('[data-f="opening"]');
  if (!opening) return;
  opening.className = `opening ${snap.open ? "is-open" : "is-closed"}`;
  opening.dataset.opensAt = snap.opens_at || "";
  opening.dataset.closesAt = snap.closes_at || "";
  setText(opening, "opening-text", openingText(snap));
}

function renderLocation(root, snap) {
  renderOccupancy(root, snap.occupancy);
  renderOpening(root, snap);
  renderQueues(root, snap.queues);
  setText(document, "updated-text", gettext("Stand {time} Uhr", { time: hhmm(snap.generated_at) }));
}

// Screen readers hear a short summary of the latest state: once a burst of changes has
// settled (ANNOUNCE_QUIET_MS without a change, or ANNOUNCE_EVERY_MS into a steady stream of
// them), at most once a minute, and only when it differs from what was said last. Not on
// the first load: the page itself says it.
let said = null, pending = null, pendingSince = 0, lastAnnounced = -Infinity, announceTimer = 0;
function announce(snaps) {
  if (!document.querySelector("[data-announce]")) return;
  // (On the overview each location's queues after its name; an appointment queue by
  // appointment, not "unbekannt"; a ticket stop said; "ca. 12 Min." ends one sentence.)
  const summary = snaps.map((s) => {
    const queues = s.queues.map((q) => {
      const wait = q.appointments ? gettext("nach Termin") : waitText(q.estimated_wait_s);
      const said = gettext("{name} – Wartende {waiting}, Wartezeit {wait}.", { name: nameOf(q), waiting: q.waiting, wait }).replace(/\.\.$/, ".");
      return q.ticket_stop ? `${said} ${gettext("Ausgabestopp")}.` : said;
    }).join(" ");
    return snaps.length > 1 ? `${nameOf(s.location || s)}: ${queues}` : queues;
  }).join(" ");
  if (said === null) { said = summary; return; }
  if (pending === null) pendingSince = Date.now();
  pending = summary;
  clearTimeout(announceTimer);
  const settled = Math.min(Date.now() + ANNOUNCE_QUIET_MS, pendingSince + ANNOUNCE_EVERY_MS);
  announceTimer = setTimeout(sayPending, Math.max(settled, lastAnnounced + ANNOUNCE_EVERY_MS) - Date.now());
}

function sayPending() {
  if (pending !== null && pending !== said) {
    document.querySelector("[data-announce]").textContent = pending;
    said = pending;
    lastAnnounced = Date.now();
  }
  pending = null;
}

// --- lobby screen ---------------------------------------------------------------------

const seenCalls = new Set();
// A fresh call's highlight lasts as long as its animation (style.css: 8 x 1 s); then the
// class goes, so the arrow and "erneuter Aufruf" have their own colours again - also with
// reduced motion, where the highlight is a still colour that nothing else would end.
const HIGHLIGHT_MS = 8000;
let highlightTimer = 0;
let firstScreenSnapshot = true;
let audio = null;

function chime() {
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const now = audio.currentTime;
    [659.25, 523.25].forEach((freq, i) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + i * 0.45);
      gain.gain.exponentialRampToValueAtTime(0.5, now + i * 0.45 + 0.03);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.45 + 1.2);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.45);
      osc.stop(now + i * 0.45 + 1.3);
    });
  } catch (e) {
    /* no audio on this device: the highlight still shows the call */
  }
}

function speak(call) {
  if (!("speechSynthesis" in window)) return;
  // "A017" is read as "A 17": the letter, then the number as a number.
  const spoken = call.number.replace(/^([A-Z]+)0*(\d+)$/, "$1 $2");
  const utterance = new SpeechSynthesisUtterance(gettext("Nummer {number}, bitte zu {counter}.", { number: spoken, counter: nameOf({ name: call.counter_name, name_en: call.counter_name_en }) }));
  utterance.lang = VOICES[lang] || "de-DE";
  window.speechSynthesis.speak(utterance);
}

function span(cls, text, field) {
  const el = document.createElement("span");
  el.className = cls;
  el.textContent = text;
  if (field) el.dataset.f = field;
  return el;
}

// A counter name too long for the call's card ("Schalter 12 (2. OG)" on a 5:4 monitor)
// is shrunk, a step at a time, until it fits beside its arrow: cut off, it would send
// people nowhere, and on a line of its own it would push itself out of the card. (The
// CSS sizes it for the usual names.)
function fitCall() {
  const card = document.querySelector("[data-latest]");
  const counter = card?.querySelector(".call .counter");
  const arrow = card?.querySelector(".call .arrow");
  if (!counter || !arrow) return;
  counter.style.fontSize = "";
  const misfit = () => {
    const box = counter.getBoundingClientRect();
    const right = card.getBoundingClientRect().right - parseFloat(getComputedStyle(card).paddingRight);
    return box.right > right + 0.5 || box.top >= arrow.getBoundingClientRect().bottom - 1;
  };
  for (let step = 0; step < 12 && misfit(); step++) {
    counter.style.fontSize = `${parseFloat(getComputedStyle(counter).fontSize) * 0.9}px`;
  }
}
if (page === "screen") {
  addEventListener("resize", fitCall);
  fitCall(); // (the call the page came with)
}

function renderScreen(snap) {
  const grid = document.querySelector(".screen-grid");
  const wanted = new Set((grid.dataset.queues || "").split(",").filter(Boolean));
  const calls = snap.calls.filter((c) => wanted.size === 0 || wanted.has(c.queue));
  const fresh = [];
  for (const c of calls) {
    const key = `${c.id}:${c.recall}`;
    if (!seenCalls.has(key)) {
      seenCalls.add(key);
      if (!firstScreenSnapshot) fresh.push(c);
    }
  }
  firstScreenSnapshot = false;
  const box = document.querySelector("[data-latest]");
  const call = box.querySelector(".call");
  const latest = calls[0];
  if (latest) {
    const recall = span("recall", gettext("erneuter Aufruf"), "recall");
    recall.hidden = !latest.recall;
    call.replaceChildren(span("number", latest.number, "number"), span("arrow", "→"),
      span("sr-only", gettext("bitte zu")), span("counter", nameOf({ name: latest.counter_name, name_en: latest.counter_name_en }), "counter"), recall);
    call.querySelector(".arrow").setAttribute("aria-hidden", "true");
    fitCall();
  }
  if (fresh.length) {
    box.classList.remove("flash");
    void box.offsetWidth; // restart the highlight
    box.classList.add("flash");
    clearTimeout(highlightTimer);
    highlightTimer = setTimeout(() => box.classList.remove("flash"), HIGHLIGHT_MS);
    chime();
    if (grid.dataset.voice) fresh.slice(0, 3).reverse().forEach(speak);
  }
  const list = document.querySelector('[data-list="calls"]');
  list.replaceChildren(...calls.slice(1, 7).map((c) => {
    const li = document.createElement("li");
    const arrow = span("arrow", "→");
    arrow.setAttribute("aria-hidden", "true");
    li.append(span("number", c.number), " ", arrow, " ", span("counter", nameOf({ name: c.counter_name, name_en: c.counter_name_en })));
    return li;
  }));
  renderOpening(document, snap);
  renderQueues(document, snap.queues);
  renderOccupancy(document, snap.occupancy);
}

// --- ticket page ----------------------------------------------------------------------

let ticketSig = null, ticketWaiting = null, ticketFetchedAt = 0, lastCall = null, latestSnap = null;
let vibrateOn = false; // the page was tapped to vibrate (below)

// Only what can move this ticket triggers a re-read: a call or recall, its queue getting
// shorter, a counter opening or closing - not the arrivals behind it. That keeps a
// thousand phones from re-reading on every new ticket. The queue's length is compared
// only within one queue: after a transfer the new queue's count is the new baseline.
async function refreshTicket(snap) {
  latestSnap = snap;
  const card = document.querySelector("[data-ticket]");
  const queue = snap.queues.find((q) => q.id === card.dataset.queue);
  const sig = JSON.stringify([snap.epoch, snap.calls.map((c) => [c.id, c.recall]),
    snap.counters.map((c) => [c.id, c.open, c.state, c.number, c.ticket_status])]);
  const seen = queue ? { queue: queue.id, waiting: queue.waiting } : null;
  const shorter = seen && ticketWaiting !== null &&
    (ticketWaiting.queue !== seen.queue || seen.waiting < ticketWaiting.waiting);
  ticketWaiting = seen;
  const due = Date.now() - ticketFetchedAt > 60000;
  if (sig === ticketSig && !shorter && !due) return;
  ticketSig = sig;
  ticketFetchedAt = Date.now();
  await new Promise((r) => setTimeout(r, Math.random() * 500)); // spread the re-reads
  const res = await fetch(`/api/v1/tickets/${encodeURIComponent(card.dataset.ticket)}`, { cache: "no-store" });
  if (!res.ok) return;
  const ticket = await res.json();
  if (ticket.queue !== card.dataset.queue) { // transferred: say to which service
    // (The newest snapshot, not the one that started this read: one that came meanwhile
    // may already show a change in the new queue.)
    const now = latestSnap.queues.find((q) => q.id === ticket.queue);
    if (now) setText(card, "queue_name", nameOf(now));
    ticketWaiting = now ? { queue: now.id, waiting: now.waiting } : null;
  }
  card.dataset.queue = ticket.queue;
  card.dataset.status = ticket.status;
  setText(card, "status", TICKET_STATUS[ticket.status]);
  const goTo = card.querySelector('[data-f="go_to"]');
  const counter = ticket.counter_name ? nameOf({ name: ticket.counter_name, name_en: ticket.counter_name_en }) : "";
  goTo.hidden = !counter;
  if (counter) goTo.textContent = gettext("Bitte zu {counter}", { counter });
  // Every call and every recall buzzes the phone once, where it can: also a second call to
  // the same counter (after a transfer), which says the same words.
  const call = ticket.status === "called" ? `${ticket.called_at}:${ticket.recall}` : null;
  if (call && call !== lastCall && navigator.vibrate) navigator.vibrate([400, 200, 400, 200, 400]);
  lastCall = call;
  card.querySelector('[data-f="waiting"]').hidden = ticket.status !== "waiting";
  setText(card, "ahead", ticket.position ? ticket.position - 1 : 0);
  setText(card, "wait", waitText(ticket.estimated_wait_s));
  setText(card, "range", rangeText(ticket.estimated_wait_range_s));
  const active = ["waiting", "called", "serving"].includes(ticket.status);
  setText(card, "hint", active ? gettext("Lassen Sie diese Seite geöffnet – sie zeigt Ihren Aufruf.") : gettext("Dieser Vorgang ist abgeschlossen."));
  // Offered while the ticket waits (again, after a transfer): once it is called, the
  // person is on the way and the offer comes too late.
  const offer = card.querySelector("[data-vibrate-offer]");
  if (offer && navigator.vibrate) offer.hidden = ticket.status !== "waiting" || vibrateOn;
}

// A page may only vibrate once it has been tapped (browsers' rule against pages that buzz
// on their own). Whoever follows their ticket without touching it would feel nothing, so
// the page offers the tap, and confirms it with a short buzz.
// Phones also stop a page's buzzing while their screen is off, so the same tap keeps the
// screen on (Screen Wake Lock, where there is one) for as long as the page is shown.
if (page === "ticket" && navigator.vibrate) {
  const offer = document.querySelector("[data-vibrate-offer]");
  const said = document.querySelector("[data-vibrate-status]");
  const waiting = document.querySelector("[data-ticket]")?.dataset.status === "waiting";
  let wakeLock = null;
  const keepAwake = async () => {
    try { wakeLock = await navigator.wakeLock?.request("screen"); } catch (e) { wakeLock = null; }
  };
  if (offer && said && waiting) {
    offer.hidden = false;
    offer.querySelector("[data-vibrate]").addEventListener("click", () => {
      navigator.vibrate(200);
      keepAwake();
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible" && wakeLock?.released !== false) keepAwake();
      });
      said.textContent = gettext("Ihr Telefon vibriert, wenn Sie aufgerufen werden – solange diese Seite auf dem Bildschirm zu sehen ist. Sperren Sie den Bildschirm bitte nicht.");
      vibrateOn = true;
      offer.hidden = true;
      said.focus(); // the button is gone: focus goes to what replaced it
    }, { once: true });
  }
}

// --- staff pages: re-fetch the server-rendered live part ------------------------------

let fragmentBusy = false, fragmentAgain = false;

// Where keyboard focus is, described so that it survives the part being replaced: the
// form's action plus the element's kind and name.
function focusPlace(holder) {
  const el = document.activeElement;
  if (!el || !holder.contains(el)) return null;
  return { action: el.closest("form")?.getAttribute("action"), tag: el.tagName, name: el.name || "" };
}

function restoreFocus(holder, place) {
  if (!place) return;
  for (const el of holder.querySelectorAll(place.tag)) {
    if (el.closest("form")?.getAttribute("action") === place.action && (el.name || "") === place.name) {
      el.focus();
      return;
    }
  }
}

async function refreshFragment() {
  const holder = document.querySelector("[data-fragment]");
  if (!holder) return;
  // Someone is choosing in a list: refresh when they leave it, not under their hands.
  if (holder.contains(document.activeElement) && document.activeElement.tagName === "SELECT") {
    document.activeElement.addEventListener("blur", refreshFragment, { once: true });
    return;
  }
  if (fragmentBusy) { fragmentAgain = true; return; }
  fragmentBusy = true;
  try {
    const res = await fetch(holder.dataset.fragment, { cache: "no-store", credentials: "same-origin" });
    if (res.redirected || !res.ok) return; // logged out: the next navigation shows the login
    const html = await res.text();
    const place = focusPlace(holder);
    holder.innerHTML = html;
    restoreFocus(holder, place);
  } finally {
    fragmentBusy = false;
    if (fragmentAgain) { fragmentAgain = false; refreshFragment(); }
  }
}

// A terminal follows its location: counts in place; a button that opens or closes (opening
// hours, ticket stop) reloads the page so that its form is fresh. While the location is
// closed its services are tiles that say so, not buttons. Never while a press is on its way
// or a ticket is on the screen (terminal.js sets data-busy): that screen is the person's.
function renderTerminal(snap) {
  if (body.dataset.busy) return;
  for (const q of snap.queues) {
    const button = document.querySelector(`[data-issue="${CSS.escape(q.id)}"]`);
    if (!button) continue;
    const blocked = !snap.open || q.ticket_stop ? "1" : "0";
    const shownClosed = button.tagName !== "BUTTON"; // a tile, not a button
    if (button.dataset.blocked !== blocked || shownClosed === snap.open) { location.reload(); return; }
    setText(button, "wait-line", snap.open ? `${gettext("Wartezeit")}: ${waitText(q.estimated_wait_s)} · ${q.waiting} ${ngettext("wartet", "warten", q.waiting)}` : pgettext("queue.closed", "geschlossen"));
  }
}

// Counter keyboard shortcuts: a letter presses the button that shows it. WCAG 2.1.4: they
// can be switched off (remembered on this device); "no-show" asks before it acts.
if (page === "counter") {
  const toggle = document.querySelector("[data-shortcuts-toggle]");
  const enabled = () => localStorage.getItem("waitboard.shortcuts") !== "off";
  if (toggle) {
    toggle.checked = enabled();
    toggle.addEventListener("change", () => localStorage.setItem("waitboard.shortcuts", toggle.checked ? "on" : "off"));
  }
  document.addEventListener("keydown", (ev) => {
    if (!enabled() || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.target.closest("input, select, textarea")) return;
    const button = document.querySelector(`button[data-key="${CSS.escape(ev.key.toLowerCase())}"]:not([disabled])`);
    if (button) { ev.preventDefault(); button.click(); }
  });
}
// A page that prints a part of itself (the PIN slip): the print stylesheet picks the part.
document.querySelector("[data-print-page]")?.addEventListener("click", () => window.print());

document.addEventListener("submit", (ev) => {
  const question = ev.target.dataset.confirm;
  if (question && !window.confirm(question)) { ev.preventDefault(); return; }
  // A form whose answer is shown once (a new PIN, a booking code): a second click would
  // replace that page with the replay, which cannot show it again. After the form has
  // gone (the next tick), its buttons are off until the answer arrives.
  if (ev.target.dataset.once !== undefined) {
    setTimeout(() => ev.target.querySelectorAll("button").forEach((b) => { b.disabled = true; }), 0);
  }
});

// --- connection -----------------------------------------------------------------------

function showStale() {
  const stale = document.querySelector("[data-stale]");
  stale.textContent = gettext("Verbindung unterbrochen – Stand {time} Uhr", { time: clockText(new Date(lastData)) });
  stale.hidden = false;
}

function onMessage(msg) {
  if (msg.type === "heartbeat") return;
  if (msg.type === "stale") { showStale(); return; } // the server lost its data source
  if (msg.type === "locations") {
    for (const loc of msg.locations) {
      const card = document.querySelector(`[data-location="${CSS.escape(loc.id)}"]`);
      if (card) renderLocation(card, loc);
    }
    announce(msg.locations);
    return;
  }
  if (msg.type !== "snapshot") return;
  if (page === "screen") renderScreen(msg);
  else if (page === "location") { renderLocation(document.querySelector("[data-location]"), msg); announce([msg]); }
  else if (page === "ticket") refreshTicket(msg);
  else if (page === "reception" || page === "counter") refreshFragment();
  else if (page === "terminal") renderTerminal(msg);
}

let lastData = Date.now();

function connect(attempt = 0) {
  const url = new URL(body.dataset.ws, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url);
  ws.onopen = () => { attempt = 0; body.dataset.live = "open"; };
  ws.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch (e) { return; }
    if (msg.type !== "stale") {
      lastData = Date.now();
      document.querySelector("[data-stale]").hidden = true;
    }
    try { onMessage(msg); } catch (e) { console.error(e); }
  };
  ws.onclose = () => {
    body.dataset.live = "closed";
    // Jittered exponential backoff, capped at ~10 s: a restarted server is not stormed and
    // a lobby screen is back within seconds.
    const delay = Math.min(10000, 500 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random());
    setTimeout(() => connect(attempt + 1), delay);
  };
}

function tick() {
  const clock = document.querySelector("[data-clock]");
  if (clock) clock.textContent = clockText(new Date());
  if (Date.now() - lastData > STALE_AFTER_MS) showStale();
}

if (body.dataset.ws) {
  connect();
  setInterval(tick, 1000);
  tick();
}
