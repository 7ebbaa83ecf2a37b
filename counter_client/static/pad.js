/* LobbyQ rating pad, facing the customer. Idle: the teller's card. After a completion
 * at this counter, or when the teller asks (rating.requested): the ticket and five
 * choices; for the two lowest, reason chips; then a thank-you and back to the card.
 * 30 s without a touch returns to the card.
 * Test hook: window.lobbyqPad = {state}. */
(function () {
  "use strict";

  var device = window.lobbyqDevice;
  var boot = device.boot;
  var me = boot.counter;
  var IDLE_AFTER_MS = 30000;
  var THANKS_MS = 5000;
  var state = { mode: "idle", number: null, rating: null, reasons: [], card: null, sent: 0 };
  var timer = null;
  var $ = function (id) { return document.getElementById(id); };

  function show(mode) {
    state.mode = mode;
    document.body.dataset.mode = mode;
    ["idle", "rate", "reasons", "thanks"].forEach(function (name) { $(name).hidden = name !== mode; });
    clearTimeout(timer);
    if (mode === "rate" || mode === "reasons") timer = setTimeout(toIdle, IDLE_AFTER_MS);
    if (mode === "thanks") timer = setTimeout(toIdle, THANKS_MS);
  }

  function toIdle() {
    state.number = null;
    state.rating = null;
    state.reasons = [];
    hideError();
    show("idle");
  }

  function renderCard() {
    var card = state.card || {};
    var teller = card.teller;
    $("teller-name").textContent = teller ? teller.display_name : "—";
    $("staff-no").textContent = teller && teller.staff_no ? LobbyQ.both("staffNo") + " " + teller.staff_no : "";
    var img = $("photo-img");
    if (teller && teller.photo_url) {
      if (img.getAttribute("src") !== teller.photo_url) img.src = teller.photo_url;
      img.hidden = false;
      $("initial").hidden = true;
    } else {
      img.hidden = true;
      img.removeAttribute("src");
      $("initial").hidden = false;
      $("initial").textContent = teller ? Array.from(teller.display_name)[0] || "?" : "—";
    }
    $("closed-note").hidden = !!teller && card.state === "open";
  }

  function askFor(number) {
    if (!boot.ratings_enabled || !number) return;
    state.number = number;
    state.rating = null;
    state.reasons = [];
    $("rate-number").textContent = number;
    hideError();
    show("rate");
  }

  function choose(rating) {
    state.rating = rating;
    if (rating <= 2) {
      state.reasons = [];
      Array.prototype.forEach.call(document.querySelectorAll("#chips button"), function (b) {
        b.setAttribute("aria-pressed", "false");
      });
      show("reasons");
    } else {
      send();
    }
  }

  function send() {
    var body = { ticket: state.number, rating: state.rating, reasons: state.reasons };
    device.api("POST", boot.ratings, body).then(function (answer) {
      state.sent += 1;
      var code = answer.data && answer.data.error && answer.data.error.code;
      if (answer.ok || code === "already_rated") { show("thanks"); return; }
      if (code === "not_rateable") { toIdle(); return; }
      showError(answer.data && answer.data.error ? answer.data.error.message : LobbyQ.both("retry"));
    }).catch(function () { showError(LobbyQ.both("network")); });
  }

  function showError(text) { $("pad-error").textContent = text; $("pad-error").hidden = false; }
  function hideError() { $("pad-error").hidden = true; }

  Array.prototype.forEach.call(document.querySelectorAll("#choices button"), function (button) {
    button.addEventListener("click", function () { choose(Number(button.dataset.rating)); });
  });
  Array.prototype.forEach.call(document.querySelectorAll("#chips button"), function (button) {
    button.addEventListener("click", function () {
      var reason = button.dataset.reason;
      var at = state.reasons.indexOf(reason);
      if (at >= 0) state.reasons.splice(at, 1); else state.reasons.push(reason);
      button.setAttribute("aria-pressed", at >= 0 ? "false" : "true");
    });
  });
  $("submit-reasons").addEventListener("click", send);
  // Any touch keeps the customer's screen up for another 30 s.
  document.addEventListener("pointerdown", function () {
    if (state.mode === "rate" || state.mode === "reasons") show(state.mode);
  });

  device.on(function (kind, value) {
    if (kind === "card") {
      state.card = value;
      renderCard();
      var pending = value.pending_rating;
      if (state.mode === "idle" && pending && pending.age_s !== null && pending.age_s < 30) askFor(pending.number);
      return;
    }
    if (kind !== "event") return;
    var data = value.data || {};
    switch (value.type) {
      case "ticket.completed":
        if (data.counter === me) askFor(data.number);
        break;
      case "rating.requested":
        if (data.counter === me) askFor(data.number);
        break;
      case "ticket.rated":
        // Rated on the phone meanwhile: nothing more to ask.
        if (data.number === state.number && state.mode !== "thanks") show("thanks");
        break;
      case "counter.updated":
        if (data.number === me) device.loadCard();
        break;
      default:
        break;
    }
  });

  window.lobbyqPad = { state: state };
  renderCard();
  show("idle");
})();
