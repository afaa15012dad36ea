// push-worker.js - the service worker behind a ticket's push messages (scope /tickets/).
//
// The server writes each message's title and body in the person's language; this only
// shows it, one notification per ticket (a newer one replaces the older, and still
// alerts), and opens the ticket's page when it is tapped.

self.addEventListener("push", (event) => {
  let message = {};
  try { message = event.data ? event.data.json() : {}; } catch (e) { message = {}; }
  const urgent = message.type === "called" || message.type === "recalled";
  // "closed" may come when the day is rolled over, at night: shown, but without a sound.
  const quiet = message.type === "closed";
  event.waitUntil((async () => {
    // The same message again (a retry that the push service delivered twice): once.
    const shown = await self.registration.getNotifications({ tag: message.ticket_id || "waitboard" });
    if (message.id && shown.some((n) => n.data?.id === message.id)) return;
    await self.registration.showNotification(message.title || "", {
      body: message.body || "",
      tag: message.ticket_id || "waitboard",
      renotify: !quiet,
      silent: quiet,
      requireInteraction: urgent,
      vibrate: urgent ? [400, 200, 400, 200, 400] : quiet ? [] : [200],
      data: { url: message.url || "/", id: message.id },
    });
  })());
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = event.notification.data?.url || "/";
  event.waitUntil((async () => {
    const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const same = open.find((c) => c.url === url);
    if (same) return same.focus();
    return self.clients.openWindow(url);
  })());
});
