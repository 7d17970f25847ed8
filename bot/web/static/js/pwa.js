// Koers installable chat (issue 14): registers the service worker that keeps the offline help
// page, and, when the worker set up reminders by web push, offers to turn on notifications on
// this phone. No inline scripts (CSP); texts come from the server and are set as textContent.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !("serviceWorker" in navigator)) { return; }
  var swUrl = script.getAttribute("data-sw");
  var scope = script.getAttribute("data-scope");
  var pushUrl = script.getAttribute("data-push");

  var registration = navigator.serviceWorker.register(swUrl, { scope: scope });
  registration.catch(function () { /* no offline page on this browser; the chat still works */ });

  var config = document.getElementById("chat-config");  // only on the chat itself (logged in)
  if (!config || !pushUrl || !("PushManager" in window) || !("Notification" in window)) { return; }
  var csrf = config.getAttribute("data-csrf");

  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  function send(method, subscription) {
    return fetch(pushUrl, {
      method: method,
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": csrf,
        "X-Koers-Client": config.getAttribute("data-page")  // the page's own client
      },
      body: JSON.stringify(subscription)
    }).then(function (response) {
      if (response.status === 409) {
        // Someone else logged in on this device since this page was loaded: say so.
        return response.json().then(function (data) {
          var error = new Error("push 409");
          error.text = data && data.error;
          throw error;
        });
      }
      if (!response.ok) { throw new Error("push " + response.status); }
      return response.json();
    });
  }

  function banner(texts, publicKey, reg) {
    var box = document.createElement("section");
    box.className = "flash push-offer";
    box.setAttribute("aria-label", "Meldingen");
    var text = document.createElement("p");
    text.textContent = texts.push_offer;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "big";
    button.textContent = texts.push_button;
    var status = document.createElement("p");
    status.setAttribute("role", "status");
    box.appendChild(text);
    box.appendChild(button);
    box.appendChild(status);
    var main = document.getElementById("inhoud") || document.body;
    main.insertBefore(box, main.firstChild);
    button.addEventListener("click", function () {
      button.disabled = true;
      Notification.requestPermission().then(function (permission) {
        if (permission !== "granted") {
          status.textContent = texts.push_blocked;
          return null;
        }
        return reg.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(publicKey)
        }).then(function (subscription) { return send("POST", subscription.toJSON()); })
          .then(function () {
            text.textContent = texts.push_on;
            button.hidden = true;
            status.textContent = "";
          });
      }).catch(function (error) {
        status.textContent = (error && error.text) || texts.push_failed;
        button.disabled = false;
      });
    });
  }

  fetch(pushUrl, {
    credentials: "same-origin",
    headers: { "X-Koers-Client": config.getAttribute("data-page") }  // the page's own client
  })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (info) {
      if (!info || !info.wanted || !info.public_key) { return null; }
      return navigator.serviceWorker.ready.then(function (reg) {
        return reg.pushManager.getSubscription().then(function (existing) {
          if (existing) { return send("POST", existing.toJSON()); }  // keep it on the server
          if (Notification.permission === "denied") { return null; }
          banner(info.texts, info.public_key, reg);
          return null;
        });
      });
    })
    .catch(function () { /* push is optional: the chat works without it */ });
}());
