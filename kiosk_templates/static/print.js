// print.js - printed tickets: print once the page has loaded, and on the button.
// A terminal in Chromium's kiosk mode (--kiosk-printing) prints without a dialog.
window.addEventListener("load", () => {
  document.querySelector("[data-print]")?.addEventListener("click", () => window.print());
  window.print();
});
