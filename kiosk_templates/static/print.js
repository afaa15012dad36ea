// print.js - a printed ticket's page (reception's "print" view).
// Prints once per ticket when the page loads; a page shown again from the history does not
// print again. (The self-service terminal prints from terminal.js.)

const ticket = document.querySelector("[data-ticket]");
const printedKey = ticket ? `printed:${ticket.dataset.ticket}` : null;

window.addEventListener("load", () => {
  document.querySelector("[data-print]")?.addEventListener("click", () => window.print());
  if (!printedKey || !sessionStorage.getItem(printedKey)) {
    if (printedKey) sessionStorage.setItem(printedKey, "1");
    window.print();
  }
});
