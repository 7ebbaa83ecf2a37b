/* LobbyQ counter sign: the counter's name, the number now served, paused or closed.
 * Test hook: window.lobbyqSign = {state}. */
(function () {
  "use strict";

  var device = window.lobbyqDevice;
  var me = device.boot.counter;
  var state = { counter: "closed", current: null, teller: null };
  var $ = function (id) { return document.getElementById(id); };

  // Texts: server/web/catalogues/<lang>.json (device.paused, device.closed).
  var STATES = { paused: true, closed: true };

  function render(flash) {
    document.body.dataset.state = state.counter;
    var shown = STATES[state.counter];
    $("state-box").hidden = !shown;
    $("state-zh").textContent = shown ? LobbyQ.catalogue.zh[state.counter] : "";
    $("state-en").textContent = shown ? LobbyQ.catalogue.en[state.counter] : "";
    $("number").textContent = state.current || "—";
    document.body.classList.toggle("idle-number", !state.current);
    var teller = state.teller;
    $("teller").textContent = teller && state.counter !== "closed"
      ? teller.display_name + (teller.staff_no ? " · " + LobbyQ.catalogue.zh.staffNo + " " + teller.staff_no : "") : "";
    if (flash) {
      var box = $("serving");
      box.classList.remove("flash");
      void box.offsetWidth;
      box.classList.add("flash");
    }
  }

  device.on(function (kind, value) {
    if (kind === "card") {
      state.counter = value.state;
      state.current = value.current;
      state.teller = value.teller;
      render(false);
      return;
    }
    if (kind !== "event") return;
    var data = value.data || {};
    switch (value.type) {
      case "ticket.called":
      case "ticket.recalled":
        if (data.counter === me) { state.current = data.number; render(true); }
        break;
      case "ticket.completed":
      case "ticket.no_show":
        if (data.counter === me && state.current === data.number) { state.current = null; render(false); }
        break;
      case "ticket.transferred":
        if (data.from_counter === me) { state.current = null; render(false); }
        break;
      case "counter.updated":
        if (data.number === me) {
          var changedTeller = data.username !== (state.teller && state.teller.username);
          state.counter = data.state;
          state.current = data.current;
          render(false);
          if (changedTeller) device.loadCard();
        }
        break;
      default:
        break;
    }
  });

  window.lobbyqSign = { state: state };
  render(false);
})();
