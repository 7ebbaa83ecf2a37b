/* LobbyQ lobby manager's tablet. Issues tickets with POST /tickets (the kiosk's own
 * rules), reads GET /lobby after each event of the branch (debounced), moves waiting
 * tickets with POST /tickets/{number}/move. Text is set with textContent only.
 * Test hook: window.lobbyqLobby = {state}. */
(function () {
  "use strict";

  var boot = LobbyQ.data("boot");
  var B = boot.branch;
  var API = "/api/v1/branches/" + encodeURIComponent(B.code);
  var $ = function (id) { return document.getElementById(id); };
  var state = { service: null, priority: "normal", overview: null, refreshes: 0, issued: [], link: "connecting", seq: -1 };
  var SERVICES = {};
  B.services.forEach(function (s) { SERVICES[s.code] = s; });
  var PRIORITIES = {};
  B.priorities.forEach(function (p) { PRIORITIES[p.code] = p; });

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function bi(zh, en) {
    var span = el("span", "bi", zh);
    span.append(el("span", "en", en));
    return span;
  }

  function api(method, url, body) {
    return LobbyQ.api(method, url, body, boot.token).then(function (answer) {
      if (answer.status === 401) { location.reload(); }
      return answer;
    });
  }

  function toast(text) {
    var box = $("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { box.hidden = true; }, 4000);
  }

  function localTime(iso) {
    return new Intl.DateTimeFormat("zh-CN", { timeZone: B.timezone, hour: "2-digit", minute: "2-digit", hour12: false })
      .format(new Date(iso));
  }
  function minutes(seconds) {
    var s = Math.max(0, Math.round(seconds));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  // --- sign-in -------------------------------------------------------------------

  if (!boot.user) {
    $("live").hidden = true;
    $("login").addEventListener("submit", function (event) {
      event.preventDefault();
      var error = $("login-error");
      error.hidden = true;
      api("POST", "/api/v1/auth/login", { username: $("username").value.trim(), password: $("password").value })
        .then(function (answer) {
          if (answer.ok) { location.reload(); return; }
          error.textContent = (answer.data.error && answer.data.error.message) || LobbyQ.both("signInFailed");
          error.hidden = false;
        });
    });
    return;
  }
  $("user").textContent = boot.user;
  $("signout").hidden = false;
  $("signout").addEventListener("click", function () {
    api("POST", "/api/v1/auth/logout").then(function () { location.reload(); });
  });
  if (!boot.allowed) { $("live").hidden = true; return; }

  // --- issuing --------------------------------------------------------------------

  // One row of toggle buttons: `field` is "service" or "priority" (state, class, data-*).
  function choices(boxId, items, field, content) {
    var box = $(boxId);
    box.replaceChildren();
    items.forEach(function (item) {
      var b = el("button", field);
      b.type = "button";
      b.dataset[field] = item.code;
      b.setAttribute("aria-pressed", String(state[field] === item.code));
      b.append.apply(b, content(item));
      b.addEventListener("click", function () { state[field] = item.code; renderChoices(); });
      box.append(b);
    });
  }
  function renderChoices() {
    choices("services", B.services, "service", function (s) { return [el("b", "", s.code), bi(s.name.zh, s.name.en)]; });
    choices("priorities", B.priorities, "priority", function (p) { return [bi(p.name.zh, p.name.en)]; });
  }

  var printer = $("printer");
  B.printers.forEach(function (id) { var o = el("option", "", id); o.value = id; printer.append(o); });
  if (!B.printers.length) { $("out-print").disabled = true; printer.disabled = true; }
  else { $("out-print").checked = true; }

  function issue() {
    var error = $("issue-error");
    error.hidden = true;
    var code = $("appointment-code").value.trim();
    var ref = $("customer-ref").value.trim();
    if (!state.service && !code) { error.textContent = LobbyQ.both("chooseService"); error.hidden = false; return; }
    var body = { service: state.service || B.services[0].code, priority: state.priority, print: false, lang: "zh" };
    if (ref) body.customer_ref = ref;
    if (code) body.appointment_code = code;
    var toPrinter = $("out-print").checked && printer.value;
    $("issue").disabled = true;
    api("POST", API + "/tickets", body).then(function (answer) {
      $("issue").disabled = false;
      if (!answer.ok) {
        error.textContent = (answer.data.error && answer.data.error.message) || LobbyQ.both("issueFailed");
        error.hidden = false;
        return;
      }
      var t = answer.data;
      state.issued.push(t.number);
      showResult(t, toPrinter);
      $("customer-ref").value = "";
      $("appointment-code").value = "";
      state.priority = "normal";
      renderChoices();
      if (toPrinter) {
        api("POST", API + "/printers/" + encodeURIComponent(toPrinter) + "/print", { ticket: t.token }).then(function (p) {
          var ok = p.ok && p.data.state !== "failed";
          $("result-print").textContent = ok ? LobbyQ.fill(LobbyQ.both("sentToPrinter", " · "), {printer: toPrinter})
            : LobbyQ.both("printFailed", " · ") + " (" + ((p.data && (p.data.error || (p.data.error && p.data.error.message))) || "") + ")";
          if (!ok) showQr(t);
        });
      }
    });
  }

  function showQr(t) {
    var img = $("result-qr");
    img.src = "/kiosk/qr.svg?data=" + encodeURIComponent(t.track_url);
    img.hidden = false;
  }

  function showResult(t, toPrinter) {
    $("result").hidden = false;
    $("result-number").textContent = t.number;
    var service = SERVICES[t.service];
    var ahead = t.position === null || t.position === undefined ? "" : " · " + LobbyQ.fill(LobbyQ.both("ahead"), {n: t.position});
    $("result-what").textContent = (service ? service.name.zh + " " + service.name.en : t.service) + ahead +
      (t.notice ? " · " + t.notice : "");
    $("result-qr").hidden = true;
    $("result-print").textContent = toPrinter ? LobbyQ.both("printing") : LobbyQ.both("scanQr", " · ");
    if (!toPrinter) showQr(t);
  }

  $("issue").addEventListener("click", issue);

  // --- the lobby's state -------------------------------------------------------------

  function pair(key) { return [LobbyQ.t(key, "zh"), LobbyQ.t(key, "en")]; }
  var STATE_TEXT = {
    arrived: pair("state_arrived"), late: pair("state_late"), due: pair("state_due"), later: pair("state_later"),
  };
  var STATUS_TEXT = {
    waiting: pair("status_waiting"), called: pair("status_called"), serving: pair("status_serving"),
    completed: pair("status_completed"), no_show: pair("status_no_show"), cancelled: pair("status_cancelled"),
  };

  function renderOverview() {
    var o = state.overview;
    if (!o) return;
    var appts = $("appointments");
    appts.replaceChildren();
    $("appt-count").textContent = o.appointments.length ? "(" + o.appointments.length + ")" : "";
    if (!o.appointments.length) appts.append(el("li", "empty", LobbyQ.both("noAppointments", " · ")));
    o.appointments.forEach(function (a) {
      var li = el("li", "row appt " + a.state);
      var s = STATE_TEXT[a.state] || [a.state, a.state];
      var service = SERVICES[a.service];
      li.append(el("span", "time", localTime(a.at)), el("span", "name", a.customer_name || a.code),
        el("span", "svc", service ? service.name.zh : a.service),
        el("span", "badge " + a.state, s[0] + " " + s[1] + (a.number ? " · " + a.number : "")));
      appts.append(li);
    });
    var arrivals = $("arrivals");
    arrivals.replaceChildren();
    if (!o.arrivals.length) arrivals.append(el("li", "empty", LobbyQ.both("noneYet", " · ")));
    o.arrivals.forEach(function (t) {
      var li = el("li", "row arrival " + t.status);
      var p = PRIORITIES[t.priority];
      var st = STATUS_TEXT[t.status] || [t.status, t.status];
      li.append(el("span", "time", localTime(t.issued_at)), el("b", "number", t.number),
        el("span", "badge prio", p ? p.name.zh + " " + p.name.en : t.priority),
        el("span", "svc", SERVICES[t.service] ? SERVICES[t.service].name.zh : t.service),
        el("span", "status", st[0] + " " + st[1] + (t.counter ? " · " + LobbyQ.fill(LobbyQ.t("counterNo", "zh"), {n: t.counter}) : "")));
      arrivals.append(li);
    });
    var waits = $("waits");
    waits.replaceChildren();
    o.waits.forEach(function (w) {
      var box = el("div", "wait");
      var head = el("div", "wait-head");
      head.append(bi(w.name.zh, w.name.en), el("span", "count", LobbyQ.fill(LobbyQ.t("people", "zh"), {n: w.waiting})));
      box.append(head);
      var list = el("div", "tickets");
      w.longest.forEach(function (t) {
        var b = el("button", "ticket" + (t.waited_s > w.target_wait_s ? " over" : ""));
        b.type = "button";
        b.dataset.number = t.number;
        b.append(el("b", "", t.number), el("span", "", minutes(t.waited_s)));
        b.addEventListener("click", function () { openMove(t.number, w.service); });
        list.append(b);
      });
      if (!w.longest.length) list.append(el("span", "empty", LobbyQ.both("nobodyWaiting", " · ")));
      box.append(list);
      waits.append(box);
    });
  }

  var reading = false;
  var again = false;
  function refresh() {
    if (reading) { again = true; return; }
    reading = true;
    api("GET", API + "/lobby").then(function (answer) {
      reading = false;
      if (answer.ok) { state.overview = answer.data; state.refreshes += 1; renderOverview(); }
      if (again) { again = false; setTimeout(refresh, 250); }
    }).catch(function () { reading = false; });
  }

  // --- moving a waiting ticket ----------------------------------------------------------

  var moving = null;
  function openMove(number, from) {
    moving = number;
    $("move-number").textContent = number;
    var box = $("move-services");
    box.replaceChildren();
    B.services.forEach(function (s) {
      if (s.code === from) return;
      var b = el("button", "service");
      b.type = "button";
      b.dataset.service = s.code;
      b.append(el("b", "", s.code), bi(s.name.zh, s.name.en));
      b.addEventListener("click", function () { move(s.code); });
      box.append(b);
    });
    $("move").hidden = false;
  }
  function move(service) {
    var number = moving;
    $("move").hidden = true;
    api("POST", API + "/tickets/" + encodeURIComponent(number) + "/move", { service: service }).then(function (answer) {
      if (answer.ok) toast(LobbyQ.fill(LobbyQ.both("moved", " · "), {number: number, zh: SERVICES[service].name.zh, en: SERVICES[service].name.en}));
      else toast((answer.data.error && answer.data.error.message) || LobbyQ.both("moveFailed"));
      refresh();
    });
  }
  $("move-cancel").addEventListener("click", function () { $("move").hidden = true; });

  // --- live ---------------------------------------------------------------------------

  var timer = null;
  function setLive(value) {
    state.link = value;
    var badge = $("live");
    badge.dataset.state = value;
    badge.textContent = LobbyQ.both(value);
  }
  function soon(delay) {
    clearTimeout(timer);
    timer = setTimeout(refresh, delay);
  }
  function connect() {
    // The kit's one client (server/web/static/live.js): every event of the branch
    // (debounced) re-reads GET /lobby.
    return LobbyQ.live({
      path: "/ws/branches/" + encodeURIComponent(B.code),
      token: boot.token || null,
      params: { client: "lobby" },
      onSnapshot: function (data, message) { state.seq = message.seq; soon(0); },
      onEvent: function (message) { state.seq = message.seq; soon(150); },
      onStatus: function (connected) { setLive(connected ? "live" : "reconnecting"); },
    });
  }

  function tick() {
    $("clock").textContent = new Intl.DateTimeFormat("zh-CN", { timeZone: B.timezone, hour: "2-digit", minute: "2-digit", hour12: false }).format(new Date());
    renderOverview();
  }

  window.lobbyqLobby = { state: state, refresh: refresh };
  renderChoices();
  tick();
  setInterval(tick, 30000);
  refresh();
  connect();
})();
