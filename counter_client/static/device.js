/* LobbyQ counter devices (the sign and the rating pad): one live client.
 *
 * The branch WebSocket sends a counter device only its counter's events; the page
 * reads its card (counter state, number served, the teller) from GET .../device on
 * every (re)connect and when the counter changes. Link states: "live", "reconnecting"
 * (a drop shorter than OFFLINE_MS), "offline" (longer), "denied" (token refused).
 * Reconnects back off exponentially with jitter and resume with since=<last seq>.
 *
 * window.lobbyqDevice = {boot, state, on(fn), api(method, url, body), loadCard()}.
 */
(function () {
  "use strict";

  var boot = JSON.parse(document.getElementById("boot").textContent);
  var OFFLINE_MS = 30000;
  var WATCHDOG_MS = 45000; // the server pings every ~15 s of silence
  var listeners = [];
  var state = { seq: -1, link: "connecting", card: null, events: 0, droppedAt: null };
  var socket = null;
  var attempt = 0;
  var watchdog = null;
  var offlineTimer = null;

  function notify(kind, value) {
    listeners.forEach(function (fn) {
      try { fn(kind, value); } catch (e) { console.error(e); }
    });
  }

  var LINK_TEXT = {
    connecting: "连接中 Connecting",
    reconnecting: "正在重新连接 Reconnecting",
    offline: "网络中断 Offline",
    denied: "此设备未获授权 Not authorised",
    live: "",
  };

  function setLink(value) {
    state.link = value;
    document.body.dataset.link = value;
    var badge = document.getElementById("link");
    badge.dataset.state = value;
    document.getElementById("link-text").textContent = LINK_TEXT[value] || value;
    notify("link", value);
  }

  function api(method, url, body) {
    var headers = {};
    if (boot.token) headers.Authorization = "Bearer " + boot.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: method, headers: headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  function loadCard() {
    return api("GET", boot.card).then(function (answer) {
      if (!answer.ok) return;
      state.card = answer.data;
      notify("card", answer.data);
    }).catch(function () {});
  }

  function wsUrl() {
    var params = new URLSearchParams();
    params.set("client", boot.client);
    if (state.seq >= 0) params.set("since", String(state.seq));
    if (boot.token) params.set("token", boot.token);
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    return proto + location.host + boot.ws + "?" + params.toString();
  }

  function armWatchdog() {
    clearTimeout(watchdog);
    watchdog = setTimeout(function () { if (socket) socket.close(); }, WATCHDOG_MS);
  }

  function connect() {
    var ws = new WebSocket(wsUrl());
    socket = ws;
    armWatchdog();
    ws.onmessage = function (event) {
      armWatchdog();
      var message;
      try { message = JSON.parse(event.data); } catch (e) { return; }
      if (message.type === "ping") return;
      if (message.type === "snapshot") {
        state.seq = message.seq;
        attempt = 0;
        clearTimeout(offlineTimer);
        setLink("live");
        loadCard();
        return;
      }
      if (typeof message.seq !== "number" || message.seq <= state.seq) return;
      state.seq = message.seq;
      if (state.link !== "live") { attempt = 0; clearTimeout(offlineTimer); setLink("live"); loadCard(); }
      state.events += 1;
      notify("event", message);
    };
    ws.onopen = function () {
      if (state.seq >= 0) { attempt = 0; clearTimeout(offlineTimer); setLink("live"); loadCard(); }
    };
    ws.onclose = function (event) {
      if (socket !== ws) return;
      socket = null;
      clearTimeout(watchdog);
      if (event.code === 1008 || event.code === 4404) {
        setLink("denied");
        setTimeout(connect, 60000);
        return;
      }
      if (state.link === "live" || state.link === "connecting") {
        setLink("reconnecting");
        clearTimeout(offlineTimer);
        offlineTimer = setTimeout(function () { if (state.link === "reconnecting") setLink("offline"); }, OFFLINE_MS);
      }
      attempt += 1;
      var base = Math.min(30000, 1000 * Math.pow(2, attempt - 1));
      setTimeout(connect, base / 2 + Math.random() * base / 2);
    };
  }

  window.lobbyqDevice = {
    boot: boot,
    state: state,
    on: function (fn) { listeners.push(fn); },
    api: api,
    loadCard: loadCard,
    reconnect: function () { if (socket) socket.close(); },
  };
  // Start once the page's own script has subscribed.
  setTimeout(connect, 0);
})();
