/* LobbyQ lobby TV. Plain JS on the web kit (server/web/static).
 *
 * State comes from /ws/branches/{b} through LobbyQ.live (kit/live.js): a snapshot, then
 * events in seq order; after a drop it resumes with since=<last seq> (replay or a fresh
 * snapshot), with the kit's backoff. Everything kept
 * is capped (recent calls, audio queue, waiting tickets are only those really waiting)
 * so the page can run for days.
 *
 * Test hook: window.lobbyq = {state, audioLog (URLs in the order played), ...}.
 */
(function () {
  "use strict";

  var cfg = LobbyQ.data("lobbyq-config");
  var RECENT = cfg.recent || 8;
  var AUDIO_QUEUE_MAX = 20;
  var AUDIO_LOG_MAX = 200;
  var ANNOUNCE_MAX_AGE_MS = 120000; // a call replayed after a long drop is shown, not spoken
  var REFRESH_MS = 10 * 60000; // a full re-read now and then heals any drift
  var CLIP_TIMEOUT_MS = 30000;

  var $ = function (id) { return document.getElementById(id); };

  var state = {
    seq: -1,
    current: null,
    recent: [],
    waiting: new Map(), // ticket number -> service code
    notice: { zh: "", en: "" },
    connected: false,
    snapshots: 0,
    events: 0,
  };
  var serverOffsetMs = 0; // server clock - local clock, from message timestamps
  var offsetKnown = false; // a ping has set serverOffsetMs

  // --- rendering ------------------------------------------------------------------

  function text(el, value) { if (el.textContent !== value) el.textContent = value; }

  function counterNames(call) {
    var name = call.counter_name || {};
    var num = String(call.counter || "");
    return {
      zh: name.zh || LobbyQ.fill(LobbyQ.t("counterNo", "zh"), {n: num}),
      en: name.en || LobbyQ.fill(LobbyQ.t("counterNo", "en"), {n: num}),
    };
  }

  function renderCurrent(flash) {
    var call = state.current;
    var box = $("current");
    if (!call) {
      box.classList.add("idle");
      text($("current-number"), "—");
      text($("current-counter-zh"), "—");
      text($("current-counter-en"), "—");
      text($("current-text-zh"), "");
      return;
    }
    box.classList.remove("idle");
    var names = counterNames(call);
    text($("current-number"), call.number || "");
    text($("current-counter-zh"), names.zh);
    text($("current-counter-en"), names.en);
    var caption = (call.announcement && call.announcement.text) || {};
    text($("current-text-zh"), caption.zh || "");
    if (flash) {
      box.classList.remove("flash");
      void box.offsetWidth; // restart the animation
      box.classList.add("flash");
    }
  }

  function renderRecent(highlightFirst) {
    var list = $("recent-list");
    var items = state.recent.slice(0, RECENT);
    var fragment = document.createDocumentFragment();
    items.forEach(function (call, index) {
      var li = document.createElement("li");
      if (call.recall) li.classList.add("recall");
      if (highlightFirst && index === 0) li.classList.add("new");
      var num = document.createElement("span");
      num.className = "num";
      num.textContent = call.number || "";
      var counter = document.createElement("span");
      counter.className = "counter";
      var digits = /^\d+$/.test(String(call.counter || ""));
      if (digits) {
        counter.textContent = String(call.counter);
        var small = document.createElement("small");
        small.textContent = LobbyQ.t("counterSuffix", "zh");
        counter.appendChild(small);
      } else {
        counter.textContent = counterNames(call).zh;
      }
      li.appendChild(num);
      li.appendChild(counter);
      fragment.appendChild(li);
    });
    list.replaceChildren(fragment);
  }

  function renderWaiting() {
    var counts = {};
    state.waiting.forEach(function (service) { counts[service] = (counts[service] || 0) + 1; });
    document.querySelectorAll("#waiting-list li").forEach(function (li) {
      text(li.querySelector(".count"), String(counts[li.dataset.service] || 0));
    });
  }

  function renderNotice(changed) {
    var zh = state.notice.zh || "", en = state.notice.en || "";
    var footer = $("notice");
    footer.hidden = !(zh || en);
    text($("notice-zh"), zh);
    text($("notice-en"), en);
    // A notice longer than the line scrolls (滚动字幕) instead of being cut off.
    var line = $("notice-text");
    line.classList.remove("scrolling");
    var overflow = line.scrollWidth - line.parentNode.clientWidth;
    if (!footer.hidden && overflow > 0) {
      line.style.setProperty("--scroll-by", "-" + overflow + "px");
      line.style.setProperty("--scroll-time", Math.max(8, overflow / 60) + "s");
      line.classList.add("scrolling");
    }
    if (changed) {
      footer.classList.remove("updated");
      void footer.offsetWidth;
      footer.classList.add("updated");
    }
  }

  function renderStatus() {
    var el = $("status");
    el.hidden = state.connected;
    text($("status-text"), LobbyQ.both("reconnecting"));
  }

  var timeFormat = new Intl.DateTimeFormat("zh-CN", {
    timeZone: cfg.timezone, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  var dateFormat = new Intl.DateTimeFormat("zh-CN", {
    timeZone: cfg.timezone, year: "numeric", month: "long", day: "numeric", weekday: "short",
  });
  function tick() {
    var now = new Date(Date.now() + serverOffsetMs);
    text($("clock-time"), timeFormat.format(now));
    text($("clock-date"), dateFormat.format(now));
    // The branch's business day ended (its reset time): re-read, so yesterday's calls
    // and waiting tickets leave the screen at once.
    if (state.nextDayAt && now.getTime() >= state.nextDayAt) {
      state.nextDayAt = 0;
      refresh();
    }
  }

  // --- state from messages ----------------------------------------------------------

  function applySnapshot(seq, data) {
    state.seq = seq;
    state.nextDayAt = Date.parse(data.next_day_at || "") || 0;
    state.snapshots += 1;
    state.waiting = new Map();
    (data.services || []).forEach(function (service) {
      (service.waiting || []).forEach(function (t) { state.waiting.set(t.number, service.code); });
    });
    state.recent = (data.recent_calls || []).slice(0, RECENT).map(function (c) {
      return {
        number: c.number, counter: c.counter, counter_name: c.counter_name,
        recall: !!c.recall, at: c.called_at,
      };
    });
    var first = state.recent[0];
    state.current = first ? {
      number: first.number, counter: first.counter, counter_name: first.counter_name,
    } : null;
    state.notice = data.notice || { zh: "", en: "" };
    renderCurrent(false);
    renderRecent(false);
    renderWaiting();
    renderNotice(false);
  }

  function applyEvent(message) {
    var data = message.data || {};
    state.events += 1;
    switch (message.type) {
      case "ticket.issued":
        state.waiting.set(data.number, data.service);
        renderWaiting();
        break;
      case "ticket.transferred":
        state.waiting.set(data.number, data.to_service || data.service);
        renderWaiting();
        break;
      case "ticket.called":
      case "ticket.recalled":
        state.waiting.delete(data.number);
        onCall(message, data);
        renderWaiting();
        break;
      case "ticket.cancelled":
      case "ticket.no_show":
      case "ticket.started":
      case "ticket.completed":
        if (state.waiting.delete(data.number)) renderWaiting();
        break;
      case "notice.updated":
        state.notice = { zh: data.zh || "", en: data.en || "" };
        renderNotice(true);
        break;
      default:
        break;
    }
  }

  function onCall(message, data) {
    var call = {
      number: data.number, counter: data.counter, counter_name: data.counter_name,
      announcement: data.announcement, recall: message.type === "ticket.recalled",
      at: message.at,
    };
    state.current = call;
    state.recent.unshift(call);
    if (state.recent.length > RECENT) state.recent.length = RECENT;
    renderCurrent(true);
    renderRecent(true);
    var age = Date.now() + serverOffsetMs - Date.parse(message.at || "");
    if (!(age > ANNOUNCE_MAX_AGE_MS)) enqueueAnnouncement(data.announcement, message.seq);
  }

  // --- audio: one call after another, chime then each language, repeated ---------

  var player = new Audio();
  player.preload = "auto";
  var audioQueue = []; // [{urls, repeat, seq}]
  var playing = false;
  var soundBlocked = false;
  var audioLog = [];

  function enqueueAnnouncement(announcement, seq) {
    if (!announcement || !announcement.audio || !announcement.audio.length) return;
    var repeat = Math.max(1, Math.min(5, announcement.repeat || 1));
    var urls = [];
    for (var i = 0; i < repeat; i += 1) urls = urls.concat(announcement.audio);
    audioQueue.push({ urls: urls, seq: seq });
    while (audioQueue.length > AUDIO_QUEUE_MAX) audioQueue.shift();
    playNext();
  }

  function playClip(url) {
    return new Promise(function (resolve, reject) {
      var done = false;
      var timer = setTimeout(function () { finish(null); }, CLIP_TIMEOUT_MS);
      function finish(error) {
        if (done) return;
        done = true;
        clearTimeout(timer);
        player.onended = player.onerror = null;
        if (error) reject(error); else resolve();
      }
      player.onended = function () { finish(null); };
      player.onerror = function () { finish(null); }; // a missing file is skipped, not retried
      player.src = url;
      var started = player.play();
      if (started && started.then) {
        started.then(function () {
          audioLog.push(url);
          if (audioLog.length > AUDIO_LOG_MAX) audioLog.splice(0, audioLog.length - AUDIO_LOG_MAX);
        }, function (error) {
          finish(error && error.name === "NotAllowedError" ? error : null);
        });
      }
    });
  }

  function playNext() {
    if (playing || soundBlocked || !audioQueue.length) return;
    playing = true;
    var item = audioQueue[0];
    (function step() {
      if (!item.urls.length) {
        audioQueue.shift();
        playing = false;
        playNext();
        return;
      }
      playClip(item.urls[0]).then(function () {
        item.urls.shift();
        step();
      }, function () {
        // Autoplay blocked: keep the clip and wait for a tap.
        playing = false;
        soundBlocked = true;
        $("sound-prompt").hidden = false;
      });
    })();
  }

  $("sound-button").addEventListener("click", function () {
    soundBlocked = false;
    $("sound-prompt").hidden = true;
    playNext();
  });

  // --- the connection (the kit's live client) ------------------------------------------

  var denied = false;
  var live = null;

  function connect() {
    live = LobbyQ.live({
      path: cfg.ws,
      token: cfg.token || null,
      onSnapshot: function (data, message) { applySnapshot(message.seq, data); },
      onEvent: function (message) {
        state.seq = message.seq;
        applyEvent(message);
        // info.js (boards, slides, the full-screen call) follows the same stream.
        document.dispatchEvent(new CustomEvent("lobbyq:event", { detail: message }));
      },
      onPing: function (message) {
        var at = Date.parse(message.at || "");
        if (!isNaN(at)) { serverOffsetMs = at - Date.now(); offsetKnown = true; }
      },
      onStatus: function (connected) {
        state.connected = connected;
        if (connected && denied) { denied = false; $("denied").hidden = true; }
        renderStatus();
      },
      onRefused: function () {
        denied = true;
        $("denied").hidden = false;
        return 60000; // the token may be restored; try again, slowly
      },
    });
  }

  function refresh() {
    // Re-read the whole state now and then (day change, anything missed by a bug).
    fetch(cfg.queue, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && typeof data.seq === "number" && data.seq >= state.seq) {
          applySnapshot(data.seq, data);
        }
      })
      .catch(function () {});
  }

  window.lobbyq = {
    state: state,
    audioLog: audioLog,
    audioQueue: audioQueue,
    get connected() { return state.connected; },
    get soundBlocked() { return soundBlocked; },
    get live() { return live; },
    get serverOffsetMs() { return offsetKnown ? serverOffsetMs : null; },
    reconnect: function () { live.reconnect(); },
  };

  tick();
  setInterval(tick, 1000);
  setInterval(refresh, REFRESH_MS);
  renderStatus();
  connect();
})();
