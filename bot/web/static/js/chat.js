// Koers client chat. No inline scripts (CSP); all text is put in with textContent or as text
// nodes, never as HTML (phone numbers become links by splitting the text, see linkify).
// One message at a time: the next can only be sent when the previous one is answered.
(function () {
  "use strict";
  var config = document.getElementById("chat-config");
  var list = document.getElementById("berichten");
  var form = document.getElementById("invoer");
  var input = document.getElementById("tekst");
  var sendButton = document.getElementById("verstuur");
  var statusLine = document.getElementById("status");
  var announcer = document.getElementById("nieuw-bericht");
  var errorBox = document.getElementById("fout");
  var errorText = document.getElementById("fout-tekst");
  var retryButton = document.getElementById("opnieuw");
  var helpButton = document.getElementById("hulp-knop");
  var helpDialog = document.getElementById("hulp");
  var speakSwitch = document.getElementById("voorlezen");

  // Phone numbers in Koers's messages (crisis help, the client's own safety plan) become
  // links that call: 112 and 113, 0800/0900 numbers, and Dutch numbers of ten digits (06, 020,
  // 088 ...) or with +31, with a space or dash after the area code and spaces in between
  // (so a date such as 03-11-2026 is not a number). "113.nl" links to the site. The same
  // rules as bot/web/phones.py, which does this for the server-side pages.
  var NUMBER = /(\+31[\s-]?(?:\(0\)[\s-]?)?\d(?:[\s-]?\d){8}|\b0[89]00[\s-]?\d{4}(?:\d{3})?\b|\b0\d{1,3}[\s-]?\d(?:\s?\d){5,7}\b|\b11[23]\b(?![.,]?\w)|\b113\.nl\b)/g;

  function linkTarget(found) {
    if (found === "113.nl") { return "https://www.113.nl"; }
    var digits = found.replace(/\(0\)/, "").replace(/[^\d+]/g, "");
    if (/^0[1-79]/.test(digits) && digits.length !== 10) { return null; }  // not a number
    return "tel:" + digits;
  }

  // Put `text` into `parent` as text nodes, with <a> elements around phone numbers. The text
  // never becomes HTML: every piece is a text node.
  function linkify(parent, text) {
    var last = 0;
    var match;
    NUMBER.lastIndex = 0;
    while ((match = NUMBER.exec(text)) !== null) {
      var target = linkTarget(match[0]);
      if (target === null) { continue; }
      if (match.index > last) { parent.appendChild(document.createTextNode(text.slice(last, match.index))); }
      var link = document.createElement("a");
      link.href = target;
      if (match[0] === "113.nl") { link.rel = "noopener noreferrer"; }
      link.className = match[0] === "113.nl" ? "web-link" : "tel-link";
      link.textContent = match[0];
      parent.appendChild(link);
      last = match.index + match[0].length;
    }
    if (last < text.length) { parent.appendChild(document.createTextNode(text.slice(last))); }
  }

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
  var maxLength = parseInt(config.getAttribute("data-max-length"), 10) || 2000;
  var lengthHint = document.getElementById("lengte");
  var storeKey = "koers-chat-" + config.getAttribute("data-client");
  // What the client had typed when the login ran out (a 401): kept in this tab until the same
  // client is back on the chat page, then put back in the box.
  var draftKey = "koers-concept-" + config.getAttribute("data-client");
  var speakKey = "koers-voorlezen";
  var FACES = { "1": "😢", "2": "🙁", "3": "😐", "4": "🙂", "5": "😄" };
  // Only for a bare number: the mood check-in runs from "slecht" to "goed", the theme scales
  // from "heel weinig" to "heel veel", and the page cannot tell which one it is. Rasa's own
  // button titles carry the right words; this fallback only says where the number stands.
  var FACE_WORDS = { "1": "van 5", "2": "van 5", "3": "van 5", "4": "van 5", "5": "van 5" };
  var pending = false;
  var lastItem = null;
  var history = [];
  var canSpeak = "speechSynthesis" in window && typeof SpeechSynthesisUtterance !== "undefined";
  var reducedMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)");

  // Another client's conversation or text in this tab (a shared tablet): not for this one.
  try {
    for (var k = sessionStorage.length - 1; k >= 0; k--) {
      var key = sessionStorage.key(k);
      if (/^koers-(chat|concept)-/.test(key) && key !== storeKey && key !== draftKey) {
        sessionStorage.removeItem(key);
      }
    }
  } catch (e) { /* no storage */ }
  try { history = JSON.parse(sessionStorage.getItem(storeKey) || "[]"); } catch (e) { history = []; }

  function save() {
    try { sessionStorage.setItem(storeKey, JSON.stringify(history.slice(-200))); } catch (e) { /* full */ }
  }

  // --- reading aloud ----------------------------------------------------------------------

  function dutchVoice() {
    var voices = window.speechSynthesis.getVoices() || [];
    for (var i = 0; i < voices.length; i++) {
      if ((voices[i].lang || "").toLowerCase().indexOf("nl") === 0) { return voices[i]; }
    }
    return null;
  }

  // Emoji are left out of what is read: a voice would say "slightly frowning face".
  var EMOJI = /[\u{1F000}-\u{1FAFF}\u{2600}-\u{27BF}\u{2B00}-\u{2BFF}\u{FE0F}\u{200D}]/gu;

  function speakable(text) {
    return text.replace(EMOJI, "").replace(/[ \t]+/g, " ")
      .replace(/([.!?:])? *\n+ */g, function (_all, end) { return (end || ".") + " "; }).trim();
  }

  function isScale(buttons) {
    if (buttons.length !== 5) { return false; }
    for (var i = 0; i < 5; i++) { if (buttons[i].payload !== String(i + 1)) { return false; } }
    return true;
  }

  function choiceLabel(b, scale) {
    var title = (b.title || b.payload).trim();
    return scale && /^\d$/.test(title) ? title + " " + FACE_WORDS[b.payload] : title;
  }

  // What is read for one message: its text, then its choices (they matter most to a client
  // who cannot read them).
  function spokenText(entry) {
    var said = speakable(entry.text || "");
    if (said && !/[.!?:]$/.test(said)) { said += "."; }
    if (entry.buttons && entry.buttons.length) {
      var scale = isScale(entry.buttons);
      var labels = entry.buttons.map(function (b) { return speakable(choiceLabel(b, scale)); });
      var choices = labels.length > 1
        ? labels.slice(0, -1).join(", ") + " of " + labels[labels.length - 1]
        : labels[0];
      said += (said ? " " : "") + "Je kunt kiezen: " + choices + ".";
    }
    return said;
  }

  function speak(texts) {
    if (!canSpeak) { return; }
    window.speechSynthesis.cancel();
    var voice = dutchVoice();
    texts.forEach(function (text) {
      if (!text) { return; }
      var utterance = new SpeechSynthesisUtterance(text);
      utterance.lang = "nl-NL";
      if (voice) { utterance.voice = voice; }
      utterance.rate = 0.9;
      window.speechSynthesis.speak(utterance);
    });
  }

  function speakingAll() {
    return !!(speakSwitch && speakSwitch.getAttribute("aria-pressed") === "true");
  }

  function setSpeakSwitch(on) {
    if (!speakSwitch) { return; }
    speakSwitch.setAttribute("aria-pressed", on ? "true" : "false");
    speakSwitch.querySelector(".state").textContent = on ? "aan" : "uit";
    try { localStorage.setItem(speakKey, on ? "1" : "0"); } catch (e) { /* private mode */ }
  }

  if (speakSwitch) {
    if (!canSpeak) {
      speakSwitch.hidden = true;
    } else {
      var stored = null;
      try { stored = localStorage.getItem(speakKey); } catch (e) { stored = null; }
      setSpeakSwitch(stored === "1");
      speakSwitch.addEventListener("click", function () {
        var on = !speakingAll();
        setSpeakSwitch(on);
        if (!on) { window.speechSynthesis.cancel(); }
      });
    }
  }

  // --- showing messages -------------------------------------------------------------------

  function disableOldChoices() {
    var old = list.querySelectorAll(".choices button");
    for (var i = 0; i < old.length; i++) { old[i].disabled = true; }
  }

  function render(entry) {
    var item = document.createElement("li");
    var fromMe = entry.from === "ik";
    item.className = "msg " + (fromMe ? "ik" : "koers");
    var head = document.createElement("div");
    head.className = "msg-head";
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = fromMe ? "Jij" : "Koers";
    head.appendChild(who);
    if (!fromMe && (entry.text || (entry.buttons && entry.buttons.length)) && canSpeak) {
      // One small control per message; it reads the message and its choices.
      var read = document.createElement("button");
      read.type = "button";
      read.className = "read-aloud";
      read.setAttribute("aria-label", "Lees voor");
      read.title = "Lees voor";
      var icon = document.createElement("span");
      icon.setAttribute("aria-hidden", "true");
      icon.textContent = "🔊";
      read.appendChild(icon);
      read.addEventListener("click", function () { speak([spokenText(entry)]); });
      head.appendChild(read);
    }
    item.appendChild(head);
    var text = document.createElement("span");
    text.className = "text";
    if (fromMe) { text.textContent = entry.text || ""; } else { linkify(text, entry.text || ""); }
    item.appendChild(text);
    if (!fromMe && entry.more) {
      var details = document.createElement("details");
      details.className = "more";
      var summary = document.createElement("summary");
      summary.textContent = "Meer weten?";
      var more = document.createElement("p");
      linkify(more, entry.more);
      details.appendChild(summary);
      details.appendChild(more);
      item.appendChild(details);
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
        var title = choiceLabel(b, scale);
        if (scale && /^\d$/.test((b.title || b.payload).trim())) {
          // A bare number: add a face and words, so the scale never relies on digits alone.
          var face = document.createElement("span");
          face.className = "face";
          face.setAttribute("aria-hidden", "true");
          face.textContent = FACES[b.payload];
          var words = document.createElement("span");
          words.textContent = title;
          button.appendChild(face);
          button.appendChild(words);
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
    return item;
  }

  // `keepChoices`: messages that Rasa did not send (the help for a refused message) leave
  // the choices above them working, since the question they answer is still open.
  function add(entry, keepChoices) {
    // Only the buttons of the newest message work: the server accepts no older payloads.
    if (!keepChoices) {
      disableOldChoices();
      history.forEach(function (h) { h.used = true; });
    }
    history.push(entry);
    save();
    return render(entry);
  }

  // The part of the window that the sticky bar (top) and the composer (bottom) leave free.
  function visibleArea() {
    var top = 0;
    var bar = document.querySelector(".chat-top");
    if (bar) { top = Math.max(0, bar.getBoundingClientRect().bottom); }
    var bottom = window.innerHeight;
    var composerTop = form.getBoundingClientRect().top;
    if (composerTop < bottom) { bottom = composerTop; }
    return { top: top, bottom: bottom };
  }

  // Scroll so that the first new Koers message starts in view, and as much as fits of the
  // newest one (with its buttons): never past the first new message. No smooth scrolling for
  // people who asked their device for less motion.
  function follow(first, newest, instant) {
    var area = visibleArea();
    var margin = 8;
    var toFirst = first.getBoundingClientRect().top - area.top - margin;
    var toNewest = newest.getBoundingClientRect().bottom - area.bottom + margin;
    // Above the view: go up to it. Otherwise down as far as the newest needs, at most so far
    // that the first new message reaches the top.
    var down = toFirst < 0 ? toFirst : Math.min(toFirst, Math.max(toNewest, 0));
    if (Math.abs(down) < 2) { return; }
    var smooth = !instant && !(reducedMotion && reducedMotion.matches);
    window.scrollTo({ top: window.scrollY + down, behavior: smooth ? "smooth" : "auto" });
  }

  // Screen readers hear new messages (and their choices) through one polite live region.
  function announce(entries, after) {
    if (!announcer) { return; }
    var text = entries.map(function (e) {
      var words = e.text || "";
      if (e.buttons && e.buttons.length) {
        var scale = isScale(e.buttons);
        words += " Keuzes: " + e.buttons.map(function (b) { return choiceLabel(b, scale); }).join(", ") + ".";
      }
      return "Koers: " + words;
    }).join(" ");
    if (after) { text += " " + after; }
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  function setPending(on) {
    pending = on;
    sendButton.disabled = on;
    statusLine.textContent = on ? "Koers schrijft…" : "";
  }

  // Show, announce (and read out) Koers's messages; returns their list items.
  // `after`: words announced after the messages (the refusal that came with them).
  function showKoers(messages, keepChoices, after) {
    var entries = messages.map(function (m) {
      return { from: "koers", text: m.text, buttons: m.buttons, more: m.more || null };
    });
    var items = entries.map(function (entry) { return add(entry, keepChoices); });
    if (!items.length) { return items; }
    follow(items[0], items[items.length - 1]);
    announce(entries, after);
    if (speakingAll()) { speak(entries.map(spokenText)); }
    return items;
  }

  // `retry` false: sending the same again cannot help (a message too long or empty).
  // `quiet`: shown without role="alert" (announced already, after Koers's messages).
  function showError(message, retry, quiet) {
    if (quiet) { errorBox.removeAttribute("role"); } else { errorBox.setAttribute("role", "alert"); }
    errorText.textContent = message;
    retryButton.hidden = retry === false;
    errorBox.hidden = false;
  }

  // A message over the limit is not cut off: the box keeps all of it and says how long it
  // is, so the client can shorten it (characters as the server counts them, not UTF-16).
  function characters(text) { return Array.from ? Array.from(text).length : text.length; }
  function showLength() {
    if (!lengthHint) { return; }
    var count = characters(input.value);
    if (count > maxLength) {
      lengthHint.textContent = "Je bericht is te lang: " + count + " tekens. Er passen " +
        maxLength + " tekens in één bericht.";
      lengthHint.hidden = false;
    } else if (!lengthHint.hidden) {
      lengthHint.hidden = true;
      lengthHint.textContent = "";
    }
  }

  function send(body, shown) {
    if (pending) { return; }
    errorBox.hidden = true;
    lastItem = { body: body, shown: shown };
    // Where the client was: a choice button becomes disabled, so focus must move on.
    var fromChoice = !!(document.activeElement && document.activeElement.closest &&
      document.activeElement.closest(".choices"));
    setPending(true);
    var request = new XMLHttpRequest();
    request.open("POST", sendUrl, true);
    request.setRequestHeader("Content-Type", "application/json");
    request.setRequestHeader("X-CSRFToken", csrf);
    // The client this page was loaded for: after someone else logged in in another tab of
    // this browser, the server refuses the message (409) and the text stays in the box; the
    // page does not reload, which would make it the other client's chat (bot.web.chat).
    request.setRequestHeader("X-Koers-Client", config.getAttribute("data-page"));
    request.timeout = 65000;
    request.onload = function () {
      var data = null;
      try { data = JSON.parse(request.responseText); } catch (e) { data = null; }
      setPending(false);
      if (request.status === 401 || (data && data.reload === true)) {
        // Logged out (the login ran out, or ended on another device): the page asks for the
        // code again. Or the page itself ran out (its CSRF token): a new page has a new one.
        // What the box holds comes back on the new page (see the end).
        if (input.value.trim()) {
          try { sessionStorage.setItem(draftKey, input.value); } catch (e) { /* full */ }
        }
        window.location.reload();
        return;
      }
      if (!data || !data.ok) {
        // A refused message can still bring Koers's messages: the crisis help for a message
        // too long to send (bot.web.chat._too_long). The typed text stays in the box.
        var error = (data && data.error) || "Er ging iets mis. Je bericht is niet kwijt. Probeer het zo nog een keer.";
        var retry = request.status !== 400 && request.status !== 413 && request.status !== 409;
        if (data && data.messages && data.messages.length) {
          // The help first, then the refusal, in one polite announcement: an alert would
          // talk over the help.
          showKoers(data.messages, true, error);
          showError(error, retry, true);
        } else {
          showError(error, retry);
        }
        return;
      }
      if (shown) { add({ from: "ik", text: shown }); }
      if (body.text !== undefined && input.value === body.text) { input.value = ""; showLength(); }
      var items = showKoers(data.messages);
      lastItem = null;
      if (!items.length) { return; }
      if (fromChoice) {
        var next = items[items.length - 1].querySelector(".choices button:not([disabled])");
        (next || input).focus({ preventScroll: true });
      }
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
      showError("Typ eerst iets. Of kies een knop.", false);
      input.focus();
      return;
    }
    send({ text: text }, text.trim());
  });
  input.addEventListener("input", showLength);
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    }
  });
  retryButton.addEventListener("click", function () {
    if (lastItem) { send(lastItem.body, lastItem.shown); }
  });
  // Every chat tab of this browser hears who is logged in (a shared tablet): a logout in
  // one tab, or another client's login, takes this client's conversation off the screen and
  // out of the storage of every other tab (the server refuses their messages anyway). A tab
  // of another client does not reload: that would make it the new client's chat. The page
  // is named by its signed token (the same for every page of one client), not by the
  // client's number.
  var loginKey = "koers-actief";
  var thisPage = config.getAttribute("data-page") || "";
  function announceLogin(who) {
    try { localStorage.setItem(loginKey, who + " " + Date.now()); } catch (e) { /* private mode */ }
  }
  function forgetConversation() {
    history = [];
    lastItem = null;
    try { sessionStorage.removeItem(storeKey); } catch (e) { /* no storage */ }
    while (list.firstChild) { list.removeChild(list.firstChild); }
  }
  window.addEventListener("storage", function (event) {
    if (event.key !== loginKey || !event.newValue) { return; }
    var who = event.newValue.split(" ")[0];
    if (!who || who === thisPage) { return; }
    forgetConversation();
    if (who === "uit") {
      // Logged out in another tab: the code page once the logout is through (a reload
      // before it would still find the login), and the typed text back for this client.
      if (input.value.trim()) {
        try { sessionStorage.setItem(draftKey, input.value); } catch (e) { /* full */ }
      }
      showError("Je bent uitgelogd. Vul je code opnieuw in.", false);
      window.setTimeout(function () { window.location.reload(); }, 1500);
      return;
    }
    showError("Iemand anders gebruikt Koers nu op dit apparaat. Je gesprek staat hier niet meer. Sluit dit tabblad.", false);
  });
  announceLogin(thisPage);
  var logoutForm = document.getElementById("uitlog-form");
  if (logoutForm) {
    logoutForm.addEventListener("submit", function () {
      try { sessionStorage.removeItem(storeKey); sessionStorage.removeItem(draftKey); } catch (e) { /* ignore */ }
      announceLogin("uit");
    });
  }

  var shownBefore = history.map(render);
  if (shownBefore.length) {
    // Back on the page: show the end of the conversation at once (no animation).
    var koers = list.querySelectorAll(".msg.koers");
    if (koers.length) { follow(koers[koers.length - 1], koers[koers.length - 1], true); }
  } else {
    send({ start: true }, null);
  }
  var draft = null;
  try { draft = sessionStorage.getItem(draftKey); sessionStorage.removeItem(draftKey); } catch (e) { draft = null; }
  if (draft && !input.value) {
    input.value = draft;
    showLength();
    showError("Je bericht is niet kwijt. Het staat hieronder. Stuur het als je wilt.", false, true);
  }
})();
