// print.js - printed tickets.
// Prints once per ticket when the page loads (a terminal in Chromium's kiosk mode with
// --kiosk-printing prints without a dialog); a page shown again from the history does not
// print again. On the terminal the page returns to the start by itself after a countdown
// that "more time" extends, and leaves no history entry behind.

const done = document.querySelector("[data-ticket]");
const printedKey = done ? `printed:${done.dataset.ticket}` : null;

window.addEventListener("load", () => {
  document.querySelector("[data-print]")?.addEventListener("click", () => window.print());
  if (!printedKey || !sessionStorage.getItem(printedKey)) {
    if (printedKey) sessionStorage.setItem(printedKey, "1");
    window.print();
  }
});

if (done && done.dataset.back) {
  const back = () => location.replace(done.dataset.back);
  let left = Number(done.dataset.seconds || 15);
  const countdown = done.querySelector("[data-countdown]");
  const texts = JSON.parse(document.getElementById("texts")?.textContent || "{}");
  const show = () => {
    if (countdown) countdown.textContent = (texts["terminal.countdown"] || "{n}").replace("{n}", left);
  };
  show();
  const timer = setInterval(() => {
    left -= 1;
    show();
    if (left <= 0) { clearInterval(timer); back(); }
  }, 1000);
  done.querySelector("[data-more-time]")?.addEventListener("click", () => { left += 30; show(); });
  done.querySelector("[data-replace]")?.addEventListener("click", (ev) => { ev.preventDefault(); back(); });
}
