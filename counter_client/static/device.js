/* LobbyQ counter devices (the sign and the rating pad): one live client.
 *
 * The branch WebSocket sends a counter device only its counter's events; the page
 * reads its card (counter state, number served, the teller) from GET .../device on
 * every (re)connect and when the counter changes. Link states: "live", "reconnecting"
 * (a drop shorter than OFFLINE_MS), "offline" (longer), "denied" (token refused).
 * The link is the kit's LobbyQ.live (reconnects back off exponentially with jitter and
 * resume with since=<last seq>).
 *
 * window.lobbyqDevice = {boot, state, on(fn), api(method, url, body), loadCard()}.
 */
(function () {
  "use strict";

  var boot = LobbyQ.data("boot");
  var OFFLINE_MS = 30000;
  var WATCHDOG_MS = 45000; // the server pings every ~15 s of silence
  var listeners = [];
  var state = { seq: -1, link: "connecting", card: null, events: 0, droppedAt: null };
  var offlineTimer = null;

  function notify(kind, value) {
    listeners.forEach(function (fn) {
      try { fn(kind, value); } catch (e) { console.error(e); }
    });
  }

  function setLink(value) {
    state.link = value;
    document.body.dataset.link = value;
    var badge = document.getElementById("link");
    badge.dataset.state = value;
    document.getElementById("link-text").textContent = value === "live" ? "" : LobbyQ.both(value);
    notify("link", value);
  }

  function api(method, url, body) {
    return LobbyQ.api(method, url, body, boot.token);
  }

  function loadCard() {
    return api("GET", boot.card).then(function (answer) {
      if (!answer.ok) return;
      state.card = answer.data;
      notify("card", answer.data);
    }).catch(function () {});
  }

  var live = null;
  function becameLive() {
    clearTimeout(offlineTimer);
    setLink("live");
    loadCard();
  }

  function connect() {
    // The kit's one client (server/web/static/live.js): since= resume, gap fill, the
    // watchdog and the same backoff as every page.
    live = LobbyQ.live({
      path: boot.ws,
      token: boot.token || null,
      params: { client: boot.client },
      fillGaps: false,  // the server sends this device only its counter's events: seq skips
      watchdogMs: WATCHDOG_MS,
      onSnapshot: function (data, message) { state.seq = message.seq; },  // after onStatus(true)
      onEvent: function (message) {
        state.seq = message.seq;
        state.events += 1;
        notify("event", message);
      },
      onStatus: function (connected) {
        if (connected) {
          if (state.link !== "live") becameLive();
          return;
        }
        if (state.link === "live" || state.link === "connecting") {
          setLink("reconnecting");
          clearTimeout(offlineTimer);
          offlineTimer = setTimeout(function () { if (state.link === "reconnecting") setLink("offline"); }, OFFLINE_MS);
        }
      },
      onRefused: function () {
        clearTimeout(offlineTimer);
        setLink("denied");
        return 60000;
      },
    });
  }

  window.lobbyqDevice = {
    boot: boot,
    state: state,
    on: function (fn) { listeners.push(fn); },
    api: api,
    loadCard: loadCard,
    reconnect: function () { if (live) live.reconnect(); },
  };
  // Start once the page's own script has subscribed.
  setTimeout(connect, 0);
})();
