// terminal.js - the self-service terminal's presses, keypad, ticket screen and idle return.
//
// The promise: a press that issued a ticket always ends on that ticket's screen and print,
// whatever the live updates do meanwhile; a press that issued none says so. So a press is
// one request (fetch) whose answer is the screen to show, put in place of the page's main
// part - no navigation that a live update, a reload or the idle timer could cut off. While
// it is on its way, body[data-busy] tells live.js not to reload the page. A lost answer is
// asked for again with the same form, whose one-time key is the Idempotency-Key: a retry
// can only ever show the same ticket. Without JavaScript the forms post as plain pages.

import { gettext } from "./gettext.js";

const body = document.body;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Waits between asking again for an answer that did not come (network, 502-504): about
// 15 s in all, then the screen says that it cannot tell and where to go.
const RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000];
// After 40 s without a touch a notice asks whether someone is still there; 20 s more
// and the terminal starts afresh (WCAG 2.2.1: the person can ask for more time).
const IDLE_MS = 40000;
const LAST_CALL_MS = 20000;
const MORE_TIME_S = 30;

const view = () => document.querySelector("[data-terminal]");
const home = () => view()?.dataset.home || "/";
let pressing = false;

// --- the press ------------------------------------------------------------------------

document.addEventListener("submit", (ev) => {
  const form = ev.target.closest("form[data-press]");
  if (!form) return;
  ev.preventDefault();
  if (pressing) return; // a double tap or a second button: the first press counts
  press(form);
});

async function press(form) {
  pressing = true;
  body.dataset.busy = "1";
  const data = new URLSearchParams(new FormData(form));
  for (const button of document.querySelectorAll("main button")) button.disabled = true;
  working(gettext("Einen Moment bitte – Ihre Wartenummer kommt."));
  for (let attempt = 0; ; attempt += 1) {
    const html = await answer(form.action, data);
    if (html !== null) {
      show(html);
      return;
    }
    if (attempt >= RETRY_DELAYS_MS.length) break;
    working(gettext("Die Verbindung hakt – es wird noch einmal versucht …"));
    await sleep(RETRY_DELAYS_MS[attempt]);
  }
  working(gettext("Keine Antwort vom Server. Wenn kein Ticket gedruckt wurde, wenden Sie sich bitte an den Empfang."), true);
  setTimeout(() => location.replace(home()), LAST_CALL_MS);
}

// The page the server answered, or null when there was no usable answer (worth a retry).
async function answer(url, data) {
  try {
    const res = await fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "text/html" },
    });
    if (res.status >= 500 || !(res.headers.get("content-type") || "").startsWith("text/html")) return null;
    return await res.text();
  } catch (e) {
    return null;
  }
}

function working(text, failed = false) {
  const box = document.querySelector("[data-pressing]");
  if (!box) return;
  box.querySelector("[data-pressing-text]").textContent = text;
  box.classList.toggle("failed", failed);
  box.hidden = false;
}

// The answer's main part in place of this page's, as if it had been loaded.
function show(html) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  const main = doc.querySelector("main");
  if (!main) { location.replace(home()); return; }
  document.querySelector("main").replaceWith(document.adoptNode(main));
  document.title = doc.title;
  body.className = doc.body.className;
  const here = view()?.dataset.here;
  if (here) history.replaceState(null, "", here);
  pressing = false;
  enter();
  document.querySelector("main [autofocus]")?.focus(); // as a page load would
}

// --- what each screen does ------------------------------------------------------------

function enter() {
  const root = view();
  if (!root) return;
  if (root.dataset.ticket) {
    ticketScreen(root);
    return;
  }
  delete body.dataset.busy;
  const keypad = root.querySelector("[data-keypad]");
  if (keypad) keypad.hidden = false;
  armIdle();
}

// The ticket: printed once (a reload shows it again without printing it again), on the
// screen with a countdown back to the start that "more time" extends.
function ticketScreen(root) {
  body.dataset.busy = "1"; // nothing but its own countdown leaves this screen
  const printed = `printed:${root.dataset.ticket}`;
  if (!sessionStorage.getItem(printed)) {
    sessionStorage.setItem(printed, "1");
    window.print();
  }
  const back = () => location.replace(root.dataset.back);
  let left = Number(root.dataset.seconds || 30);
  const countdown = root.querySelector("[data-countdown]");
  const showLeft = () => { if (countdown) countdown.textContent = gettext("Zurück zum Start in {n} Sekunden.", { n: left }); };
  showLeft();
  const timer = setInterval(() => {
    left -= 1;
    showLeft();
    if (left <= 0) { clearInterval(timer); back(); }
  }, 1000);
  root.querySelector("[data-more-time]")?.addEventListener("click", () => { left += MORE_TIME_S; showLeft(); });
  root.querySelector("[data-replace]")?.addEventListener("click", (ev) => { ev.preventDefault(); back(); });
}

// --- the keypad for booking codes -----------------------------------------------------

// A tap on a key keeps the focus in the code field, where a scanner types.
document.addEventListener("mousedown", (ev) => {
  if (ev.target.closest("[data-key]")) ev.preventDefault();
});
document.addEventListener("click", (ev) => {
  const key = ev.target.closest("[data-key]");
  const input = document.getElementById("code");
  if (!key || !input) return;
  let code = input.value.toUpperCase().replace(/[^0-9A-Z]/g, "");
  code = key.dataset.key === "back" ? code.slice(0, -1) : (code + key.dataset.key).slice(0, 8);
  // Written as the confirmation prints it: two groups of four.
  input.value = code.length > 4 ? `${code.slice(0, 4)}-${code.slice(4)}` : code;
  input.removeAttribute("aria-invalid");
  input.dispatchEvent(new Event("input", { bubbles: true }));
});

// --- left alone -----------------------------------------------------------------------

// A terminal serves one person after another: left in English, with a message for the one
// before, on the check-in screen or with a typed code, it goes back to its plain German
// start after a minute without a touch or a key (typing counts as use).
let idle;
let lastCall;

function leftover() {
  const root = view();
  if (!root || root.dataset.ticket) return false;
  return root.dataset.alwaysHome !== undefined || body.dataset.lang === "en" ||
    Boolean(root.querySelector("[data-message], #code-error")) || Boolean(document.getElementById("code")?.value);
}

function armIdle() {
  clearTimeout(idle);
  clearTimeout(lastCall);
  const notice = document.querySelector("[data-still-there]");
  if (notice) notice.hidden = true;
  if (pressing || view()?.dataset.ticket) return;
  idle = setTimeout(() => {
    if (!leftover()) { armIdle(); return; }
    const shown = document.querySelector("[data-still-there]");
    if (shown) shown.hidden = false;
    lastCall = setTimeout(() => { if (!pressing) location.replace(home()); }, LAST_CALL_MS);
  }, IDLE_MS);
}

for (const kind of ["pointerdown", "keydown", "input"]) document.addEventListener(kind, armIdle, { passive: true });

enter();
