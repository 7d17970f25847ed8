// Koers service worker (issue 14), served from /chat/sw.js with scope /chat/.
// Keeps ONLY the offline help page and the files it needs. The chat page, its messages and
// the API are never cached: they are health data and must not stay on the phone.
"use strict";
var VERSION = {{ version|tojson }};
var CACHE = "koers-offline-" + VERSION;
var OFFLINE_URL = {{ offline_url|tojson }};
var SCOPE = {{ scope|tojson }};
var ICON = {{ icon|tojson }};
var PRECACHE = {{ precache|tojson }};
var REFRESH_MS = 10 * 60 * 1000;
var lastRefresh = 0;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE)
      .then(function (cache) { return cache.addAll(PRECACHE); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys()
      .then(function (keys) {
        return Promise.all(keys.filter(function (key) {
          return key.indexOf("koers-") === 0 && key !== CACHE;
        }).map(function (key) { return caches.delete(key); }));
      })
      .then(function () { return self.clients.claim(); })
  );
});

// While online, keep the stored offline page fresh (the organisation's contact may change).
function refreshOfflinePage() {
  var now = Date.now();
  if (now - lastRefresh < REFRESH_MS) { return; }
  lastRefresh = now;
  fetch(OFFLINE_URL, { cache: "no-store", credentials: "omit" })
    .then(function (response) {
      if (response.ok) {
        return caches.open(CACHE).then(function (cache) { return cache.put(OFFLINE_URL, response); });
      }
      return undefined;
    })
    .catch(function () { /* offline again: keep the stored page */ });
}

function offlinePage() {
  return caches.match(OFFLINE_URL).then(function (page) {
    return page || new Response(
      "<!doctype html><html lang=nl><meta charset=utf-8><title>Geen verbinding</title>" +
      "<h1>Geen verbinding</h1><p>Hulp nodig? Bel 113 of gratis 0800-0113. " +
      "Direct gevaar? Bel 112. Niet veilig thuis? Bel Veilig Thuis: 0800-2000.</p>",
      { headers: { "Content-Type": "text/html; charset=utf-8" } }
    );
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }  // messages (POST) go to the server, untouched
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate") {
    // Network only; when the network or the server is down: the help page.
    event.respondWith(
      fetch(request)
        .then(function (response) {
          if (response.status >= 502 && response.status <= 504) { return offlinePage(); }
          refreshOfflinePage();
          return response;
        })
        .catch(offlinePage)
    );
    return;
  }
  if (PRECACHE.indexOf(url.pathname) !== -1) {
    // The offline page's own files: the network first, the stored copy when offline.
    event.respondWith(
      fetch(request).catch(function () {
        return caches.match(url.pathname).then(function (hit) { return hit || Response.error(); });
      })
    );
  }
  // Everything else (the chat API, other pages): the network only, never stored.
});

// A reminder (web push). The text is neutral; it only invites the client to the chat.
self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {}; }
  var target = typeof data.url === "string" && data.url.indexOf(SCOPE) === 0 ? data.url : SCOPE;
  event.waitUntil(self.registration.showNotification(data.title || "Koers", {
    body: data.body || "",
    icon: ICON,
    badge: ICON,
    lang: "nl",
    tag: data.tag || "koers",
    data: { url: target }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = (event.notification.data && event.notification.data.url) || SCOPE;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
      for (var i = 0; i < windows.length; i++) {
        if (new URL(windows[i].url).pathname.indexOf(SCOPE) === 0 && "focus" in windows[i]) {
          return windows[i].focus();
        }
      }
      return self.clients.openWindow(target);
    })
  );
});
