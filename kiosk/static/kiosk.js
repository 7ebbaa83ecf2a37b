/* LobbyQ kiosk: services, VIP / appointment / accessibility paths, the ticket on screen. */
(function () {
  "use strict";

  var BOOT = JSON.parse(document.getElementById("boot").textContent);
  var API = "/api/v1/branches/" + encodeURIComponent(BOOT.branch);
  var IDLE_MS = 60000; // any screen but the start goes home after a minute untouched
  var DONE_S = 30; // the ticket stays this long
  var PRINT_POLL_MS = 300;
  var PRINT_WAIT_MS = 12000;

  var T = {
    zh: {
      welcome: "欢迎光临 · 请点击屏幕取号",
      chooseService: "请选择您要办理的业务",
      noServices: "暂无可办理的业务，请咨询大堂工作人员。",
      vipTitle: "贵宾客户", vipSub: "刷卡或输入卡号",
      apptTitle: "预约签到", apptSub: "输入预约码",
      careTitle: "爱心通道", careSub: "老人、孕妇、行动不便",
      waitingBefore: "等候 ", waitingAfter: " 人", about: "约", minutes: "分钟", noWait: "无需等候",
      clear: "清空", delete: "删除", back: "返回", confirm: "确定", cancel: "取消",
      vipKeypad: "请刷贵宾卡，或输入卡号", vipHint: "可将卡片在读卡器上刷一下，号码会自动填入",
      apptKeypad: "请输入预约码", apptHint: "预约码在预约短信中",
      enterSomething: "请先输入号码",
      vipMode: "★ 贵宾客户：请选择业务", careMode: "♥ 爱心通道：请选择业务",
      issuing: "正在为您取号，请稍候…",
      yourNumber: "您的号码", peopleAhead: "前面等候人数", estimatedWait: "预计等候",
      scanQr: "手机扫码，随时查看排队进度",
      printing: "正在打印号票…",
      printed: "✓ 请取走下方的号票",
      printFailed: "⚠ 打印机故障，号票未能打印。请用手机拍下本页或扫描二维码，或向大堂工作人员求助。您的号码有效。",
      noPrinter: "本机不打印号票：请记住您的号码，或用手机扫描二维码。",
      done: "完成", secondsLeft: "（{s} 秒后返回）",
      late: "您已超过预约时间，本号为普通号，按到店顺序办理。",
      apptOk: "预约签到成功",
      unknownVipTitle: "未找到该贵宾卡号",
      unknownVipText: "这个卡号不在贵宾名单上。您可以取一张普通号，或返回重新输入。",
      takeNormal: "取普通号", retry: "重新输入", home: "返回首页",
      apptNotFoundTitle: "未找到该预约",
      apptNotFoundText: "请核对预约码后重新输入，或取普通号。",
      apptUsedTitle: "该预约已签到",
      apptUsedText: "这个预约码已经取过号了。如有疑问请咨询大堂工作人员。",
      errorTitle: "暂时无法取号",
      errorText: "请稍后再试，或向大堂工作人员求助。",
      closedTitle: "该业务暂停取号",
      printerDown: "打印机暂停服务：号码将显示在屏幕上，请拍照或扫码"
    },
    en: {
      welcome: "Welcome · touch the screen to take a ticket",
      chooseService: "Please choose a service",
      noServices: "No service is open now. Please ask our staff.",
      vipTitle: "VIP customers", vipSub: "Swipe or type your card number",
      apptTitle: "Appointment", apptSub: "Enter your code",
      careTitle: "Priority assistance", careSub: "Elderly, pregnant, disabled",
      waitingBefore: "", waitingAfter: " waiting", about: "about", minutes: "min", noWait: "No wait",
      clear: "Clear", delete: "Delete", back: "Back", confirm: "OK", cancel: "Cancel",
      vipKeypad: "Swipe your VIP card or type its number", vipHint: "Swipe the card on the reader: the number fills in by itself",
      apptKeypad: "Enter your appointment code", apptHint: "The code is in your booking message",
      enterSomething: "Please enter the number first",
      vipMode: "★ VIP: choose a service", careMode: "♥ Priority assistance: choose a service",
      issuing: "Taking your ticket, one moment…",
      yourNumber: "Your number", peopleAhead: "People ahead", estimatedWait: "Estimated wait",
      scanQr: "Scan to follow the queue on your phone",
      printing: "Printing your ticket…",
      printed: "✓ Please take your ticket below",
      printFailed: "⚠ The printer failed: no paper ticket. Please take a photo of this screen or scan the QR code, or ask our staff. Your number is valid.",
      noPrinter: "This kiosk does not print: remember your number or scan the QR code.",
      done: "Done", secondsLeft: "({s} s)",
      late: "You are late for your appointment: this is a normal ticket, served in arrival order.",
      apptOk: "You are checked in",
      unknownVipTitle: "VIP card not found",
      unknownVipText: "This number is not on our VIP list. You can take a normal ticket, or go back and try again.",
      takeNormal: "Take a normal ticket", retry: "Try again", home: "Start again",
      apptNotFoundTitle: "Appointment not found",
      apptNotFoundText: "Please check the code and try again, or take a normal ticket.",
      apptUsedTitle: "Already checked in",
      apptUsedText: "This appointment already has a ticket. Please ask our staff if in doubt.",
      errorTitle: "Cannot issue a ticket now",
      errorText: "Please try again in a moment, or ask our staff.",
      closedTitle: "This service is closed"
    }
  };

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

  function t(key) {
    var table = T[state.lang] || T.zh;
    return key in table ? table[key] : (key in T.zh ? T.zh[key] : key);
  }
  function name(obj) { return obj ? (obj[state.lang] || obj.zh) : ""; }
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
    state.lang = lang;
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach(function (el) {
      var key = el.getAttribute("data-i18n");
      el.textContent = key === "branchName" ? name(BOOT.branchName) : t(key);
    });
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
    $("keypad-title").textContent = vip ? t("vipKeypad") : t("apptKeypad");
    $("keypad-hint").textContent = vip ? t("vipHint") : t("apptHint");
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
    } else {
      issue({ service: firstServiceCode(), priority: "normal", appointment_code: value });
    }
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

  document.addEventListener("keydown", function (ev) {
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
      b.textContent = t(a.label);
      b.setAttribute("data-action-label", a.label);
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
    late.textContent = ticket.notice ? t("late") : checkedIn ? "✓ " + t("apptOk") : "";
    $("done-qr").src = "/kiosk/qr.svg?data=" + encodeURIComponent(ticket.track_url);
    $("done-qr").alt = ticket.track_url;
    renderPrint();
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
  var linkAttempt = 0;
  var refreshSoon = null;
  function link() {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(proto + location.host + "/ws/branches/" + encodeURIComponent(BOOT.branch) + "?client=kiosk");
    ws.onmessage = function (event) {
      linkAttempt = 0;
      var type = "";
      try { type = JSON.parse(event.data).type; } catch (e) { return; }
      if (type === "service.updated" || type === "printer.updated") {
        clearTimeout(refreshSoon);
        refreshSoon = setTimeout(loadServices, 250);
      }
    };
    ws.onclose = function (event) {
      if (event.code === 1008) return; // refused: the page itself asks for a new token
      linkAttempt += 1;
      var base = Math.min(30000, 1000 * Math.pow(2, linkAttempt - 1));
      setTimeout(link, base / 2 + Math.random() * base / 2);
    };
  }
  link();
})();
