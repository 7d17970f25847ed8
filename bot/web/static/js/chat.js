// Koers client chat. No inline scripts (CSP); all text is put in with textContent, never as
// HTML. One message at a time: the next can only be sent when the previous one is answered.
(function () {
  "use strict";
  var config = document.getElementById("chat-config");
  var list = document.getElementById("berichten");
  var form = document.getElementById("invoer");
  var input = document.getElementById("tekst");
  var sendButton = document.getElementById("verstuur");
  var statusLine = document.getElementById("status");
  var errorBox = document.getElementById("fout");
  var errorText = document.getElementById("fout-tekst");
  var retryButton = document.getElementById("opnieuw");
  var helpButton = document.getElementById("hulp-knop");
  var helpDialog = document.getElementById("hulp");

  // The Hulp button works on every page, also before login.
  if (helpButton && helpDialog) {
    helpButton.addEventListener("click", function () {
      if (typeof helpDialog.showModal === "function") { helpDialog.showModal(); }
      else { helpDialog.setAttribute("open", ""); }
    });
  }
  if (!config || !list) { return; }

  var sendUrl = config.getAttribute("data-send-url");
  var csrf = config.getAttribute("data-csrf");
  var storeKey = "koers-chat-" + config.getAttribute("data-client");
  var FACES = { "1": "😢", "2": "🙁", "3": "😐", "4": "🙂", "5": "😄" };
  // Only for a bare number: the mood check-in runs from "slecht" to "goed", the theme scales
  // from "heel weinig" to "heel veel", and the page cannot tell which one it is. Rasa's own
  // button titles carry the right words; this fallback only says where the number stands.
  var FACE_WORDS = { "1": "van 5", "2": "van 5", "3": "van 5", "4": "van 5", "5": "van 5" };
  var pending = false;
  var lastItem = null;
  var history = [];
  var canSpeak = "speechSynthesis" in window && typeof SpeechSynthesisUtterance !== "undefined";

  try { history = JSON.parse(sessionStorage.getItem(storeKey) || "[]"); } catch (e) { history = []; }

  function save() {
    try { sessionStorage.setItem(storeKey, JSON.stringify(history.slice(-200))); } catch (e) { /* full */ }
  }

  function dutchVoice() {
    var voices = window.speechSynthesis.getVoices() || [];
    for (var i = 0; i < voices.length; i++) {
      if ((voices[i].lang || "").toLowerCase().indexOf("nl") === 0) { return voices[i]; }
    }
    return null;
  }

  function speak(text) {
    window.speechSynthesis.cancel();
    var utterance = new SpeechSynthesisUtterance(text);
    utterance.lang = "nl-NL";
    var voice = dutchVoice();
    if (voice) { utterance.voice = voice; }
    utterance.rate = 0.9;
    window.speechSynthesis.speak(utterance);
  }

  function isScale(buttons) {
    if (buttons.length !== 5) { return false; }
    for (var i = 0; i < 5; i++) { if (buttons[i].payload !== String(i + 1)) { return false; } }
    return true;
  }

  function disableOldChoices() {
    var old = list.querySelectorAll(".choices button");
    for (var i = 0; i < old.length; i++) { old[i].disabled = true; }
  }

  function render(entry) {
    var item = document.createElement("li");
    item.className = "msg " + (entry.from === "ik" ? "ik" : "koers");
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = entry.from === "ik" ? "Jij" : "Koers";
    item.appendChild(who);
    var text = document.createElement("span");
    text.className = "text";
    text.textContent = entry.text || "";
    item.appendChild(text);
    if (entry.from !== "ik" && entry.text && canSpeak) {
      var read = document.createElement("button");
      read.type = "button";
      read.className = "read-aloud";
      var icon = document.createElement("span");
      icon.setAttribute("aria-hidden", "true");
      icon.textContent = "🔊 ";
      read.appendChild(icon);
      read.appendChild(document.createTextNode("Lees voor"));
      read.addEventListener("click", function () { speak(entry.text); });
      item.appendChild(document.createElement("br"));
      item.appendChild(read);
    }
    if (entry.buttons && entry.buttons.length) {
      var group = document.createElement("div");
      var scale = isScale(entry.buttons);
      group.className = "choices" + (scale ? " scale" : "");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Kies een antwoord");
      entry.buttons.forEach(function (b) {
        var button = document.createElement("button");
        button.type = "button";
        var title = b.title || b.payload;
        if (scale && /^\d$/.test(title.trim())) {
          // A bare number: add a face and words, so the scale never relies on digits alone.
          var face = document.createElement("span");
          face.className = "face";
          face.setAttribute("aria-hidden", "true");
          face.textContent = FACES[b.payload];
          var words = document.createElement("span");
          var label = title.trim() + " " + FACE_WORDS[b.payload];
          words.textContent = label;
          button.appendChild(face);
          button.appendChild(words);
          title = label;
        } else {
          button.textContent = title;
        }
        button.disabled = !!entry.used;
        button.addEventListener("click", function () {
          send({ payload: b.payload, title: title }, title);
        });
        group.appendChild(button);
      });
      item.appendChild(group);
    }
    list.appendChild(item);
  }

  function add(entry) {
    // Only the buttons of the newest message work: the server accepts no older payloads.
    disableOldChoices();
    history.forEach(function (h) { h.used = true; });
    history.push(entry);
    save();
    render(entry);
  }

  function setPending(on) {
    pending = on;
    sendButton.disabled = on;
    statusLine.textContent = on ? "Koers schrijft…" : "";
  }

  function showError(message) {
    errorText.textContent = message;
    errorBox.hidden = false;
  }

  function send(body, shown) {
    if (pending) { return; }
    errorBox.hidden = true;
    lastItem = { body: body, shown: shown };
    setPending(true);
    var request = new XMLHttpRequest();
    request.open("POST", sendUrl, true);
    request.setRequestHeader("Content-Type", "application/json");
    request.setRequestHeader("X-CSRFToken", csrf);
    request.timeout = 65000;
    request.onload = function () {
      var data = null;
      try { data = JSON.parse(request.responseText); } catch (e) { data = null; }
      setPending(false);
      if (request.status === 401) { window.location.reload(); return; }
      if (!data || !data.ok) {
        showError((data && data.error) || "Er ging iets mis. Je bericht is niet kwijt. Probeer het zo nog een keer.");
        return;
      }
      if (shown) { add({ from: "ik", text: shown }); }
      if (body.text !== undefined && input.value === body.text) { input.value = ""; }
      data.messages.forEach(function (m) { add({ from: "koers", text: m.text, buttons: m.buttons }); });
      lastItem = null;
    };
    request.onerror = request.ontimeout = function () {
      setPending(false);
      showError("Er is nu geen verbinding. Je bericht is niet kwijt. Probeer het zo nog een keer.");
    };
    request.send(JSON.stringify(body));
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) {
      showError("Typ eerst iets. Of kies een knop.");
      input.focus();
      return;
    }
    send({ text: text }, text.trim());
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    }
  });
  retryButton.addEventListener("click", function () {
    if (lastItem) { send(lastItem.body, lastItem.shown); }
  });
  var logoutForm = document.getElementById("uitlog-form");
  if (logoutForm) {
    logoutForm.addEventListener("submit", function () {
      try { sessionStorage.removeItem(storeKey); } catch (e) { /* ignore */ }
    });
  }

  history.forEach(render);
  if (!history.length) { send({ start: true }, null); }
})();
