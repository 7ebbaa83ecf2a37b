/* LobbyQ web kit: the one WebSocket client of every page: a branch's live stream,
 * /ws/branches/{b}, and the mobile ticket's /ws/tickets/{token}.
 *
 *   var live = LobbyQ.live({
 *     path: "/ws/branches/sz01",      // required
 *     token: null,                    // sent as ?token= (else the device/session cookie is used)
 *     params: {client: "kiosk"},      // more query parameters (optional)
 *     resume: true,                   // false: never ask for since= (a stream without seq)
 *     fillGaps: true,                 // false: a filtered stream (a counter device hears only its
 *                                     // counter's events, their seq counting the branch's): skips are normal
 *     onSnapshot: function (data, message) {},  // the whole queue: first, and on every resync
 *     onEvent: function (message) {},           // {type, seq, at, data}: in seq order, none twice
 *     onPing: function (message) {},           // the server's heartbeat ({at}): "ping" or "heartbeat"
 *     onMessage: function (message) {},         // any other message without a seq (e.g. {type: "ticket"})
 *     onStatus: function (connected) {},        // true once the server speaks, false on a drop
 *     onRefused: function (code, reason) { return 60000; },  // 1008/4404: ms to retry, or null
 *   });
 *   live.close(); live.reconnect(); live.seq; live.connected; live.stats
 *
 * What it guarantees (the server's side is server/realtime/stream.py):
 * - resume: a reconnect asks for `since=<last seq>`; the server replays what was missed,
 *   or sends a fresh snapshot when it no longer holds it (onSnapshot: start again from it);
 * - gap fill: an event whose seq skips one is not applied; the client reconnects at once
 *   with since=<last seq> and the server replays the hole;
 * - no repeat: an event with seq <= the last applied is dropped;
 * - backoff: after a drop, wait min(maxDelayMs, firstDelayMs * 2^(n-1)) with jitter (half
 *   to all of it) before attempt n; any message from the server resets n to 0;
 * - watchdog: the server pings after ~15 s of silence; nothing for watchdogMs = a dead link.
 */
(function () {
  "use strict";
  var LobbyQ = window.LobbyQ = window.LobbyQ || {};
  var POLICY_VIOLATION = 1008, NOT_FOUND = 4404;

  LobbyQ.live = function (options) {
    var o = Object.assign({
      token: null, resume: true, fillGaps: true,
      firstDelayMs: 1000, maxDelayMs: 30000, watchdogMs: 45000,
      params: {},
      onSnapshot: function () {}, onEvent: function () {}, onPing: function () {},
      onMessage: function () {},
      onStatus: function () {}, onRefused: function () { return 60000; },
    }, options);

    var seq = -1;
    var attempt = 0;        // failed connections since the last message
    var gapStreak = 0;      // gaps since the last event applied in order
    var socket = null, connected = false, stopped = false;
    var timer = null, watchdog = null;
    var stats = { connects: 0, snapshots: 0, events: 0, gaps: 0, drops: 0, delays: [], urls: [] };

    function url() {
      var params = new URLSearchParams(o.params || {});
      if (o.resume && seq >= 0) params.set("since", String(seq));
      if (o.token) params.set("token", o.token);
      var query = params.toString();
      var proto = location.protocol === "https:" ? "wss://" : "ws://";
      return proto + location.host + o.path + (query ? "?" + query : "");
    }

    function setConnected(value) {
      if (connected === value) return;
      connected = value;
      o.onStatus(value);
    }

    function arm(ws) {
      clearTimeout(watchdog);
      watchdog = setTimeout(function () { if (socket === ws) ws.close(); }, o.watchdogMs);
    }

    function schedule(delay) {
      if (timer || stopped) return;
      stats.delays.push(Math.round(delay));
      if (stats.delays.length > 50) stats.delays.shift();
      timer = setTimeout(connect, delay);
    }

    function backoff() {
      attempt += 1;
      var base = Math.min(o.maxDelayMs, o.firstDelayMs * Math.pow(2, attempt - 1));
      schedule(base / 2 + Math.random() * base / 2);
    }

    function drop(ws) {
      // Forget this socket first: its close event must not schedule a second reconnect.
      if (socket === ws) socket = null;
      clearTimeout(watchdog);
      try { ws.close(); } catch (e) { /* already closing */ }
    }

    function connect() {
      timer = null;
      if (stopped) return;
      var address = url();
      var ws;
      try { ws = new WebSocket(address); } catch (e) { backoff(); return; }
      socket = ws;
      stats.connects += 1;
      stats.urls.push(address);
      if (stats.urls.length > 50) stats.urls.shift();
      arm(ws);
      ws.onmessage = function (event) {
        if (socket !== ws) return;
        arm(ws);
        var message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        attempt = 0;
        setConnected(true);
        if (message.type === "snapshot") {
          if (typeof message.seq === "number") seq = message.seq;
          stats.snapshots += 1;
          gapStreak = 0;
          o.onSnapshot(message.data || {}, message);
        } else if (message.type === "ping" || message.type === "heartbeat") {
          o.onPing(message);
        } else if (typeof message.seq === "number") {
          if (message.seq <= seq) return; // already applied
          if (o.fillGaps && seq >= 0 && message.seq > seq + 1) {
            stats.gaps += 1;
            gapStreak += 1;
            drop(ws);
            setConnected(false);
            if (gapStreak > 1) backoff(); else schedule(0);
            return;
          }
          seq = message.seq;
          gapStreak = 0;
          stats.events += 1;
          o.onEvent(message);
        } else {
          o.onMessage(message);
        }
      };
      ws.onclose = function (event) {
        if (socket !== ws) return;
        socket = null;
        clearTimeout(watchdog);
        stats.drops += 1;
        setConnected(false);
        if (stopped) return;
        if (event.code === POLICY_VIOLATION || event.code === NOT_FOUND) {
          var delay = o.onRefused(event.code, event.reason);
          if (delay === null || delay === undefined) { stopped = true; return; }
          schedule(delay);
          return;
        }
        backoff();
      };
    }

    connect();

    return {
      get seq() { return seq; },
      get connected() { return connected; },
      get attempt() { return attempt; },
      stats: stats,
      reconnect: function () {
        if (socket) socket.close(); // handled as a drop: backoff, then since=<seq>
        else if (!timer && !stopped) connect();
      },
      close: function () {
        stopped = true;
        clearTimeout(timer);
        timer = null;
        if (socket) drop(socket);
        setConnected(false);
      },
    };
  };
})();
