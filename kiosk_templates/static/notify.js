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
  if (!response.ok) throw new Error(String(response.status));
  return response.json();
}

// The key a subscription was made with, as base64url (to notice a key the server changed).
const keyOf = (subscription) => {
  const raw = subscription.options?.applicationServerKey;
  if (!raw) return null;
  return btoa(String.fromCharCode(...new Uint8Array(raw))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};

async function turnOn() {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") {
    say(gettext("Ihr Browser erlaubt dieser Seite keine Benachrichtigungen. Sie können das in den Einstellungen des Browsers ändern."));
    return;
  }
  say(gettext("Benachrichtigung wird eingeschaltet …"));
  const registration = await navigator.serviceWorker.register("/tickets/push-worker.js", { scope: "/tickets/" });
  await navigator.serviceWorker.ready;
  const keyAnswer = await fetch("/api/v1/push/key");
  if (!keyAnswer.ok) throw new Error(String(keyAnswer.status));
  const { public_key } = await keyAnswer.json();
  let subscription;
  try {
    subscription = await registration.pushManager.getSubscription();
    // Made with a key the server no longer signs with: it could never be told anything.
    if (subscription && keyOf(subscription) && keyOf(subscription) !== public_key) {
      await subscription.unsubscribe();
      subscription = null;
    }
    subscription = subscription
      || await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: public_key });
  } catch (e) {
    // The browser's own push service did not answer (offline, blocked, a private window).
    say(gettext("Ihr Browser konnte die Benachrichtigung gerade nicht einrichten. Versuchen Sie es später noch einmal – und lassen Sie diese Seite bis dahin geöffnet."));
    return;
  }
  const ahead = Number(box.querySelector("[data-notify-ahead]").value);
  const { id } = await post(`/api/v1/tickets/${ticketId}/subscriptions`, { ...subscription.toJSON(), ahead, lang });
  localStorage.setItem(stored, id);
  showState(true);
  say(gettext("Eingeschaltet. Ihr Telefon meldet sich, wenn Sie bald dran sind und wenn Sie aufgerufen werden – auch wenn diese Seite geschlossen ist."));
}

async function turnOff() {
  const id = localStorage.getItem(stored);
  if (id) {
    const response = await fetch(`/api/v1/tickets/${ticketId}/subscriptions/${id}`, { method: "DELETE" });
    // (404: gone already - the ticket ended, or the browser unsubscribed.)
    if (!response.ok && response.status !== 404) throw new Error(String(response.status));
  }
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
    const failed = () => say(gettext("Das hat nicht geklappt. Bitte versuchen Sie es gleich noch einmal."));
    box.querySelector("[data-notify-on]").addEventListener("click", () => turnOn().catch(failed));
    box.querySelector("[data-notify-off]").addEventListener("click", () => turnOff().catch(failed));
    // Once the ticket is called (live.js keeps data-status current), the offer to be told
    // "soon" comes too late; a subscription already made still brings the call.
    new MutationObserver(() => {
      if (card.dataset.status !== "waiting" && !localStorage.getItem(stored)) box.hidden = true;
    }).observe(card, { attributes: true, attributeFilter: ["data-status"] });
  }
}
