// notify.js - "tell me when I am nearly next": Web Push from the ticket page.
//
// The button subscribes this browser (a service worker, then PushManager.subscribe with
// the server's VAPID key) and hands the subscription to the server with the person's
// choice of how many people ahead is "soon", and the page's language. From then on the
// phone is told even with this page closed and its screen off. Where the browser cannot
// do this (iOS before 16.4, Safari outside a home-screen app, a private window), the page
// says so plainly: the live page and its vibration still work.

import { gettext } from "./gettext.js";

const card = document.querySelector("[data-ticket]");
const box = document.querySelector("[data-notify]");
const unsupported = document.querySelector("[data-notify-unsupported]");
const ios = /iPhone|iPad|iPod/.test(navigator.userAgent)
  || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
const standalone = window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
const canPush = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window
  && window.isSecureContext;

const ticketId = card?.dataset.ticket;
const stored = `waitboard.push.${ticketId}`;
const lang = document.body.dataset.lang || "de";

function say(text) {
  const status = box.querySelector("[data-notify-status]");
  status.textContent = text;
  status.focus();
}

function showState(on) {
  box.querySelector("[data-notify-on]").hidden = on;
  box.querySelector("[data-notify-choice]").hidden = on;
  box.querySelector("[data-notify-off]").hidden = !on;
}

async function post(url, data) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(data),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.detail || response.statusText);
  return answer;
}

async function turnOn() {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") {
    say(gettext("Ihr Browser erlaubt dieser Seite keine Benachrichtigungen. Sie können das in den Einstellungen des Browsers ändern."));
    return;
  }
  say(gettext("Benachrichtigung wird eingeschaltet …"));
  const registration = await navigator.serviceWorker.register("/tickets/push-worker.js", { scope: "/tickets/" });
  await navigator.serviceWorker.ready;
  const { public_key } = await (await fetch("/api/v1/push/key")).json();
  const subscription = await registration.pushManager.getSubscription()
    || await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: public_key });
  const ahead = Number(box.querySelector("[data-notify-ahead]").value);
  const { id } = await post(`/api/v1/tickets/${ticketId}/subscriptions`, { ...subscription.toJSON(), ahead, lang });
  localStorage.setItem(stored, id);
  showState(true);
  say(gettext("Eingeschaltet. Ihr Telefon meldet sich, wenn Sie bald dran sind und wenn Sie aufgerufen werden – auch wenn diese Seite geschlossen ist."));
}

async function turnOff() {
  const id = localStorage.getItem(stored);
  if (id) await fetch(`/api/v1/tickets/${ticketId}/subscriptions/${id}`, { method: "DELETE" });
  localStorage.removeItem(stored);
  showState(false);
  say(gettext("Ausgeschaltet. Es kommen keine Benachrichtigungen mehr."));
}

if (card && box && card.dataset.status === "waiting") {
  if (!canPush) {
    unsupported.hidden = false;
    unsupported.querySelector("[data-notify-ios]").hidden = !(ios && !standalone);
  } else {
    box.hidden = false;
    showState(Boolean(localStorage.getItem(stored)));
    box.querySelector("[data-notify-on]").addEventListener("click", () => {
      turnOn().catch((e) => say(gettext("Das hat nicht geklappt: {reason}", { reason: e.message })));
    });
    box.querySelector("[data-notify-off]").addEventListener("click", () => {
      turnOff().catch((e) => say(gettext("Das hat nicht geklappt: {reason}", { reason: e.message })));
    });
  }
}
