/* LobbyQ kiosk: services, VIP / appointment / accessibility paths, the ticket on screen. */
(function () {
  "use strict";

  var BOOT = LobbyQ.data("boot");
  var API = "/api/v1/branches/" + encodeURIComponent(BOOT.branch);
  var IDLE_MS = 60000; // any screen but the start goes home after a minute untouched
  var DONE_S = 30; // the ticket stays this long
  var PRINT_POLL_MS = 300;
  var PRINT_WAIT_MS = 12000;

  // Texts: server/web/catalogues/<lang>.json (kiosk.*), through LobbyQ.t.

  var state = {
    lang: "zh",
    mode: "normal", // normal | vip | accessibility
    keypadFor: null, // vip | appointment
    entry: "",
    vipRef: null,
    services: [],
    idleTimer: null,
    doneTimer: null,
    printToken: 0
  };

  var t = LobbyQ.t;
  var name = LobbyQ.name;
  function $(id) { return document.getElementById(id); }

  // -- screens ------------------------------------------------------------------------------
  function show(screen) {
    ["start", "keypad", "message", "busy", "done"].forEach(function (s) {
      $("screen-" + s).hidden = s !== screen;
    });
    document.body.setAttribute("data-screen", screen);
    armIdle();
    if (screen === "keypad") focusReader();
  }

  function home() {
    state.mode = "normal";
    state.keypadFor = null;
    state.entry = "";
    state.vipRef = null;
    state.printToken++;
    clearInterval(state.doneTimer);
    if (state.lang !== "zh") setLang("zh");
    renderStart();
    show("start");
    loadServices();
  }

  function armIdle() {
    clearTimeout(state.idleTimer);
    var screen = document.body.getAttribute("data-screen");
    if (screen === "start" && state.mode === "normal" && state.lang === "zh") return;
    if (screen === "done" || screen === "busy") return; // these have their own timing
    state.idleTimer = setTimeout(home, IDLE_MS);
  }

  // -- language -------------------------------------------------------------------------------
  function setLang(lang) {
    state.lang = LobbyQ.setLang(lang);
    $("brand-name").textContent = name(BOOT.branchName);
    $("lang").textContent = lang === "zh" ? "English" : "中文";
    renderStart();
    renderKeypad();
    if (state.lastTicket && document.body.getAttribute("data-screen") === "done") renderDone();
    if (state.lastMessage && document.body.getAttribute("data-screen") === "message") {
      message(state.lastMessage);
    }
  }

  // -- clock ----------------------------------------------------------------------------------
  function tick() {
    var parts = new Intl.DateTimeFormat("zh-CN", {
      timeZone: BOOT.timezone, hour: "2-digit", minute: "2-digit", hour12: false
    }).format(new Date());
    $("clock").textContent = parts;
  }

  // -- the kiosk's own printer: warn before the tap, not after ----------------------------------
  var PRINTER_BAD = ["paper_out", "offline", "error"];
  function loadPrinter() {
    if (!BOOT.printer) return;
    fetch(API + "/printers", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (rows) {
        var mine = rows.filter(function (p) { return p.id === BOOT.printer; })[0];
        $("printer-down").hidden = !(mine && PRINTER_BAD.indexOf(mine.state) >= 0);
      })
      .catch(function () {});
  }

  // -- services -------------------------------------------------------------------------------
  function loadServices() {
    return fetch(API + "/services", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (rows) { state.services = rows; renderServices(); loadPrinter(); })
      .catch(function () { /* keep what is shown; try again on the next refresh */ });
  }

  function waitText(item, waiting) {
    if (!waiting) return t("noWait");
    return window.LobbyQWait.text(item.estimated_wait_range_s, item.estimated_wait_s, state.lang);
  }

  function renderServices() {
    var box = $("services");
    box.textContent = "";
    var open = state.services.filter(function (s) { return s.open; });
    $("no-services").hidden = open.length > 0;
    box.setAttribute("data-count", String(open.length));
    open.forEach(function (s) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "service";
      b.setAttribute("role", "listitem");
      b.setAttribute("data-service", s.code);
      var title = document.createElement("span");
      title.className = "service-title";
      var prefix = document.createElement("span");
      prefix.className = "service-prefix";
      prefix.textContent = s.prefix;
      var nm = document.createElement("span");
      nm.className = "service-name-big";
      nm.textContent = name(s.name);
      title.appendChild(prefix);
      title.appendChild(nm);
      var meta = document.createElement("span");
      meta.className = "service-meta";
      var w = document.createElement("span");
      var wb = document.createElement("b");
      wb.textContent = String(s.waiting);
      if (t("waitingBefore")) w.appendChild(document.createTextNode(t("waitingBefore")));
      w.appendChild(wb);
      w.appendChild(document.createTextNode(t("waitingAfter")));
      var e = document.createElement("span");
      e.className = "service-wait";
      e.textContent = waitText(s, s.waiting);
      meta.appendChild(w);
      meta.appendChild(e);
      b.appendChild(title);
      b.appendChild(meta);
      b.addEventListener("click", function () { chooseService(s.code); });
      box.appendChild(b);
    });
  }

  function renderStart() {
    var banner = $("mode-banner");
    banner.hidden = state.mode === "normal";
    banner.className = "mode-banner" + (state.mode === "accessibility" ? " care" : "");
    $("mode-text").textContent = state.mode === "vip" ? t("vipMode") : t("careMode");
    $("paths").hidden = state.mode !== "normal";
    $("path-vip").hidden = !BOOT.paths.vip;
    $("path-appointment").hidden = !BOOT.paths.appointment;
    $("path-accessibility").hidden = !BOOT.paths.accessibility;
    renderServices();
  }

  // -- keypad (VIP card, appointment code) ------------------------------------------------------
  function openKeypad(kind) {
    state.keypadFor = kind;
    state.entry = "";
    $("keypad-error").hidden = true;
    renderKeypad();
    show("keypad");
  }

  function renderKeypad() {
    if (!state.keypadFor) return;
    var vip = state.keypadFor === "vip";
    var last4 = state.keypadFor === "last4";
    $("keypad-title").textContent = vip ? t("vipKeypad") : last4 ? t("last4Keypad") : t("apptKeypad");
    $("keypad-hint").textContent = vip ? t("vipHint") : last4 ? t("last4Hint") : t("apptHint");
    $("by-phone").hidden = state.keypadFor !== "appointment";
    $("entry-text").textContent = state.entry;
  }

  function press(key) {
    $("keypad-error").hidden = true;
    if (key === "clear") state.entry = "";
    else if (key === "back") state.entry = state.entry.slice(0, -1);
    else if (state.entry.length < 32) state.entry += key;
    renderKeypad();
  }

  function confirmKeypad() {
    var value = state.entry.trim();
    if (!value) {
      $("keypad-error").textContent = t("enterSomething");
      $("keypad-error").hidden = false;
      return;
    }
    if (state.keypadFor === "vip") {
      state.vipRef = value;
      state.mode = "vip";
      renderStart();
      show("start");
    } else if (state.keypadFor === "last4") {
      findByPhone(value);
    } else {
      checkIn(value);
    }
  }

  function checkIn(code) {
    issue({ service: firstServiceCode(), priority: "normal", appointment_code: code });
  }

  // Forgot the code: the last 4 digits of the phone, then the customer's own (masked) name
  // among this hour's bookings with that number.
  function findByPhone(digits) {
    show("busy");
    fetch("/api/v1/branches/" + encodeURIComponent(BOOT.branch) + "/bookings/arrivals?last4=" + encodeURIComponent(digits), {
      credentials: "same-origin"
    }).then(function (r) { return r.json().then(function (d) { return { ok: r.ok, data: d }; }); })
      .then(function (res) {
        var rows = res.ok ? res.data : [];
        if (!rows.length) {
          message({ kind: "error", title: "noBookingTitle", raw: fill(t("noBookingText"), { d: digits.slice(0, 4) }),
            actions: [
              { label: "retry", primary: true, run: function () { openKeypad("last4"); } },
              { label: "takeNormal", run: function () { state.mode = "normal"; renderStart(); show("start"); } }
            ] });
          return;
        }
        message({ kind: "info", title: "pickName", text: "pickNameText",
          actions: rows.map(function (b) {
            return { text: b.name + " · " + fill(t("at"), { t: b.at.slice(11, 16) }) + " · " + name(b.service_name),
                     primary: true, run: function () { checkIn(b.code); } };
          }).concat([{ label: "back", run: home }]) });
      })
      .catch(function () {
        message({ kind: "error", title: "errorTitle", text: "errorText", actions: [{ label: "home", primary: true, run: home }] });
      });
  }

  function fill(text, vars) {
    return String(text).replace(/\{(\w+)\}/g, function (_, k) { return vars[k] !== undefined ? vars[k] : ""; });
  }

  function firstServiceCode() {
    var open = state.services.filter(function (s) { return s.open; });
    return (open[0] || BOOT.services[0]).code;
  }

  // The card reader types like a keyboard: digits then Enter, into a hidden field.
  function focusReader() {
    var r = $("reader");
    r.value = "";
    try { r.focus({ preventScroll: true }); } catch (e) { r.focus(); }
  }

  // A booking's QR at the reader: a keyboard wedge types "LOBBYQ:{branch}:{code}" then
  // Enter in one burst. A kiosk has no keyboard but its readers, so the pattern decides,
  // not the speed; a pause over WEDGE_MS only drops a half-read code (a busy kiosk
  // can stretch a burst's gaps well past what a reader sends).
  var WEDGE_MS = 1000;
  var wedge = { text: "", last: 0 };
  function wedgeKey(ev) {
    var now = Date.now();
    if (now - wedge.last > WEDGE_MS) wedge.text = "";
    wedge.last = now;
    if (ev.key === "Enter") {
      var m = /LOBBYQ:([A-Za-z0-9_-]+):([A-Za-z0-9]{1,32})$/i.exec(wedge.text);
      wedge.text = "";
      if (m && m[1] === BOOT.branch) { ev.preventDefault(); checkIn(m[2]); return true; }
    } else if (ev.key.length === 1) {
      wedge.text = (wedge.text + ev.key).slice(-80);
    }
    return false;
  }

  document.addEventListener("keydown", function (ev) {
    if (wedgeKey(ev)) return;
    var screen = document.body.getAttribute("data-screen");
    var k = ev.key;
    if (screen === "start" && state.mode === "normal" && /^[0-9A-Za-z]$/.test(k) && BOOT.paths.vip) {
      openKeypad("vip"); // a card swiped on the start screen: it is a VIP card
    }
    if (document.body.getAttribute("data-screen") !== "keypad") return;
    if (/^[0-9A-Za-z]$/.test(k)) { press(k.toUpperCase()); ev.preventDefault(); }
    else if (k === "Backspace") { press("back"); ev.preventDefault(); }
    else if (k === "Enter") { confirmKeypad(); ev.preventDefault(); }
    else if (k === "Escape") { home(); }
    armIdle();
  });

  // -- issuing ---------------------------------------------------------------------------------
  function chooseService(code) {
    state.lastService = code;
    var body = { service: code, priority: "normal" };
    if (state.mode === "vip") { body.priority = "vip"; body.customer_ref = state.vipRef; }
    if (state.mode === "accessibility") body.priority = "accessibility";
    issue(body);
  }

  function issue(body) {
    body.lang = state.lang;
    body.print = true;
    show("busy");
    fetch(API + "/tickets", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        return { status: r.status, data: data };
      });
    }).then(function (res) {
      if (res.status === 201) return done(res.data, body);
      failed(res.status, (res.data && res.data.error) || {}, body);
    }).catch(function () {
      failed(0, {}, body);
    });
  }

  function failed(status, error, body) {
    var code = error.code || "";
    if (code === "unknown_vip") {
      message({
        kind: "error", title: "unknownVipTitle", text: "unknownVipText",
        actions: [
          { label: "takeNormal", primary: true, run: function () {
            state.mode = "normal"; state.vipRef = null;
            issue({ service: body.service, priority: "normal" });
          } },
          { label: "retry", run: function () { state.mode = "normal"; openKeypad("vip"); } }
        ]
      });
    } else if (code === "appointment_not_found") {
      message({
        kind: "error", title: "apptNotFoundTitle", text: "apptNotFoundText",
        actions: [
          { label: "retry", primary: true, run: function () { openKeypad("appointment"); } },
          { label: "takeNormal", run: function () { state.mode = "normal"; renderStart(); show("start"); } }
        ]
      });
    } else if (code === "already_checked_in") {
      message({ kind: "error", title: "apptUsedTitle", text: "apptUsedText",
        actions: [{ label: "home", primary: true, run: home }] });
    } else if (code === "service_closed" || code === "closed") {
      message({ kind: "error", title: "closedTitle", raw: error.message,
        actions: [{ label: "home", primary: true, run: home }] });
    } else {
      message({ kind: "error", title: "errorTitle", text: "errorText", raw: error.message,
        actions: [{ label: "home", primary: true, run: home }] });
    }
  }

  function message(m) {
    state.lastMessage = m;
    $("message-box").className = "message-box" + (m.kind === "info" ? " info" : "");
    $("message-title").textContent = t(m.title);
    $("message-text").textContent = m.text ? t(m.text) : (m.raw || "");
    var box = $("message-actions");
    box.textContent = "";
    m.actions.forEach(function (a) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "btn " + (a.primary ? "primary" : "ghost");
      b.textContent = a.text || t(a.label);
      b.setAttribute("data-action-label", a.label || "pick");
      b.addEventListener("click", function () { state.lastMessage = null; a.run(); });
      box.appendChild(b);
    });
    show("message");
  }

  // -- the ticket on screen ----------------------------------------------------------------------
  function done(ticket, body) {
    state.lastTicket = ticket;
    state.lastBody = body;
    state.lastMessage = null;
    state.printState = "printing";
    renderDone();
    show("done");
    startCountdown();
    followPrint(ticket.print);
    loadServices();
  }

  function renderDone() {
    var ticket = state.lastTicket;
    $("done-number").textContent = ticket.number;
    $("done-service").textContent = name(ticket.service_name) || ticket.service;
    $("done-ahead").textContent = ticket.position === null ? "—" : String(ticket.position);
    $("done-wait").textContent = waitText(ticket, ticket.position);
    var late = $("done-late");
    var checkedIn = !!(state.lastBody && state.lastBody.appointment_code);
    late.hidden = !ticket.notice && !checkedIn;
    late.className = ticket.notice ? "late" : "late ok";
    late.textContent = ticket.notice ? noticeText(ticket.notice) : checkedIn ? "✓ " + t("apptOk") : "";
    $("done-qr").src = "/kiosk/qr.svg?data=" + encodeURIComponent(ticket.track_url);
    $("done-qr").alt = ticket.track_url;
    renderPrint();
  }

  // The server says why in both languages ("中文。English."): show the reader's half.
  function noticeText(notice) {
    var cut = notice.indexOf("。");
    if (cut < 0) return notice;
    return state.lang === "zh" ? notice.slice(0, cut + 1) : notice.slice(cut + 1).trim();
  }

  function renderPrint() {
    var el = $("print-state");
    var s = state.printState;
    el.setAttribute("data-state", s);
    el.textContent = s === "printed" ? t("printed") : s === "failed" ? t("printFailed")
      : s === "none" ? t("noPrinter") : t("printing");
  }

  function setPrint(s) {
    state.printState = s;
    renderPrint();
    if (s === "failed" || s === "none") startCountdown(DONE_S * 2); // time to take a photo
  }

  function followPrint(p) {
    var token = ++state.printToken;
    if (!p || p.state === "no_printer") { setPrint("none"); return; }
    if (!p.job || p.state === "failed") { setPrint("failed"); return; }
    if (p.state === "printed") { setPrint("printed"); return; }
    var url = API + "/printers/" + encodeURIComponent(p.printer) + "/jobs/" + encodeURIComponent(p.job);
    var until = Date.now() + PRINT_WAIT_MS;
    (function poll() {
      if (token !== state.printToken) return;
      fetch(url, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { state: "failed" }; })
        .then(function (job) {
          if (token !== state.printToken) return;
          if (job.state === "printed" || job.state === "failed") return setPrint(job.state);
          if (Date.now() > until) return setPrint("failed");
          setTimeout(poll, PRINT_POLL_MS);
        })
        .catch(function () {
          if (token !== state.printToken) return;
          if (Date.now() > until) return setPrint("failed");
          setTimeout(poll, PRINT_POLL_MS * 3);
        });
    })();
  }

  function startCountdown(seconds) {
    clearInterval(state.doneTimer);
    var left = seconds || DONE_S;
    var show_ = function () {
      $("countdown").textContent = t("secondsLeft").replace("{s}", String(left));
    };
    show_();
    state.doneTimer = setInterval(function () {
      left -= 1;
      if (left <= 0) { clearInterval(state.doneTimer); home(); return; }
      show_();
    }, 1000);
  }

  // -- wiring ----------------------------------------------------------------------------------
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-action],[data-key]");
    armIdle();
    if (!el) return;
    var key = el.getAttribute("data-key");
    if (key) { press(key); return; }
    var action = el.getAttribute("data-action");
    if (action === "lang") setLang(state.lang === "zh" ? "en" : "zh");
    else if (action === "home") home();
    else if (action === "vip") openKeypad("vip");
    else if (action === "appointment") openKeypad("appointment");
    else if (action === "last4") openKeypad("last4");
    else if (action === "accessibility") { state.mode = "accessibility"; renderStart(); show("start"); }
    else if (action === "confirm") confirmKeypad();
  });
  document.addEventListener("touchstart", armIdle, { passive: true });

  setLang("zh");
  state.services = BOOT.services.map(function (s) {
    return { code: s.code, prefix: s.prefix, name: s.name, open: true, waiting: 0, estimated_wait_s: null, estimated_wait_range_s: null };
  });
  renderStart();
  show("start");
  loadServices();
  tick();
  setInterval(tick, 10000);
  setInterval(function () {
    if (document.body.getAttribute("data-screen") === "start") loadServices();
  }, 15000);

  // -- the branch's events: the kiosk stays connected, so the dashboard knows it is alive
  // (device health), and a service stopped or a printer down shows at once -----------------
  // (LobbyQ.live: the kit's one client; a refusal (1008) leaves the page to ask for a new token)
  var refreshSoon = null;
  function onChange(message) {
    if (message.type === "service.updated" || message.type === "printer.updated") {
      clearTimeout(refreshSoon);
      refreshSoon = setTimeout(loadServices, 250);
    }
  }
  LobbyQ.live({
    path: "/ws/branches/" + encodeURIComponent(BOOT.branch),
    params: { client: "kiosk" },
    onEvent: onChange,
    onRefused: function (code) { return code === 1008 ? null : 60000; },
  });
})();
