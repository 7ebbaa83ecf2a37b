/* LobbyQ teller page. Plain JS, no library. The server is the truth: every action
   and every WebSocket event is followed by a fresh read of this counter's summary
   (GET /api/v1/branches/{b}/counters/{c}/summary); the page never guesses. */
"use strict";

(function () {
  const boot = LobbyQ.data("boot");
  const B = boot.branch;
  const API = "/api/v1";
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 3000;       // while the WebSocket is down
  const SAFETY_MS = 30000;    // a quiet re-read even when live

  const S = {
    token: boot.token || null,
    me: null,
    counter: null,           // the counter number we sit at
    summary: null,
    counters: [],
    offset: 0,               // server clock - browser clock, ms
    requested: 0, applied: 0, appliedSeq: -1,
    busy: false,
    live: null, wsLive: false, pollTimer: null,
    dialog: null,            // "call" | "transfer" | "close"
    transferTargets: [],
    view: null,
  };

  // ---------------------------------------------------------------- messages

  // Refusals by error code: server/web/catalogues/<lang>.json (counter.*).
  const ZH = LobbyQ.catalogue.zh;
  const EN = LobbyQ.catalogue.en;
  const pair = (key) => ({ zh: ZH[key], en: EN[key] });

  let messageTimer = null;
  function say(kind, zh, en, ms) {
    const box = $("message");
    box.className = "message " + kind;
    $("message-zh").textContent = zh;
    $("message-en").textContent = en;
    box.hidden = false;
    clearTimeout(messageTimer);
    messageTimer = setTimeout(() => { box.hidden = true; }, ms || (kind === "error" ? 9000 : 3500));
  }

  function refusal(err) {
    let en = err.message || EN[err.code] || "refused";
    let zh = ZH[err.code] || ZH.msg_not_done;
    if (err.code === "counter_taken") {
      // "teller2 is signed in at counter 3" -> "张伟 is signed in at counter 3"
      const m = /^(\S+) is signed in at counter (\S+)/.exec(en);
      if (m) {
        const row = S.counters.find((c) => c.number === m[2]);
        const name = (row && row.username === m[1] && row.teller_name) || m[1];
        en = LobbyQ.fill(EN.msg_signed_in_at, {name, counter: m[2]});
        zh = LobbyQ.fill(ZH.msg_signed_in_at, {name, counter: m[2]});
      }
    }
    say("error", zh, en);
  }

  // ---------------------------------------------------------------- HTTP

  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (S.token) headers.Authorization = "Bearer " + S.token;
    let response;
    try {
      response = await fetch(API + path, {
        method, headers, credentials: "same-origin", cache: "no-store",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, "unreachable", "Cannot reach the server; try again in a moment");
    }
    if (response.status === 204) return null;
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(response.status, error.code || "http_" + response.status,
        error.message || response.statusText);
    }
    return data;
  }

  const branchPath = "/branches/" + encodeURIComponent(B.code);
  const counterPath = (n) => branchPath + "/counters/" + encodeURIComponent(n || S.counter);

  // ---------------------------------------------------------------- formatting

  function duration(seconds) {
    if (seconds == null || isNaN(seconds)) return "—";
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = String(m).padStart(2, "0"), ss = String(r).padStart(2, "0");
    return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }
  const serverNow = () => Date.now() + S.offset;
  const since = (iso) => (iso ? (serverNow() - Date.parse(iso)) / 1000 : null);
  const serviceName = (code) => (B.services.find((s) => s.code === code) || { name: { zh: code, en: code } }).name;
  const counterName = (n) => (B.counters.find((c) => c.number === n) || { name: { zh: LobbyQ.fill(ZH.msg_counter_no, {n}), en: LobbyQ.fill(EN.msg_counter_no, {n}) } }).name;

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  // ---------------------------------------------------------------- views

  function show(view) {
    S.view = view;
    for (const v of ["login", "picker", "desk"]) $("view-" + v).hidden = v !== view;
    $("where").hidden = view !== "desk";
    $("logout").hidden = view === "login";
    document.body.dataset.view = view;
  }

  function showLogin(reason) {
    closeDialog();
    stopLive();
    S.me = null; S.counter = null; S.summary = null;
    $("teller-name").textContent = "";
    show("login");
    if (reason) refusal(reason);
    setTimeout(() => $("username").focus(), 0);
  }

  async function start() {
    try {
      S.me = await api("GET", "/auth/me");
    } catch (err) {
      if (err.status === 0) { say("error", ZH.unreachable, err.message); setTimeout(start, POLL_MS); return; }
      showLogin(err.code === "not_authenticated" ? null : err);
      return;
    }
    if (S.me.kind !== "user") { showLogin(new ApiError(403, "staff_only", "staff only")); return; }
    await findMyCounter();
  }

  async function findMyCounter() {
    try {
      S.counters = await api("GET", branchPath + "/counters");
    } catch (err) { return handleAuth(err) || refusal(err); }
    const mine = S.counters.find((c) => c.username === S.me.name);
    if (mine) { enterDesk(mine.number); return; }
    showPicker();
  }

  function showPicker() {
    stopLive();
    S.counter = null; S.summary = null;
    $("teller-name").textContent = S.me ? S.me.name : "";
    const grid = $("counter-grid");
    grid.replaceChildren();
    S.counters.forEach((c, i) => {
      const button = el("button", "counter-choice " + (c.free ? "free" : "taken"));
      button.type = "button";
      button.dataset.counter = c.number;
      if (i < 9) button.append(el("kbd", null, String(i + 1)));
      button.append(el("b", null, c.name.zh), el("span", "en", c.name.en));
      button.append(el("span", "svc", c.services.map((s) => serviceName(s).zh).join(" · ")));
      button.append(el("span", "holder", c.free ? LobbyQ.both("msg_free") : LobbyQ.fill(LobbyQ.both("msg_taken", " · "), {name: c.teller_name || c.username})));
      button.addEventListener("click", () => openCounter(c.number));
      grid.append(button);
    });
    show("picker");
  }

  async function openCounter(number) {
    if (S.busy) return;
    S.busy = true;
    try {
      await api("POST", counterPath(number) + "/open");
      try { localStorage.setItem("lobbyq.counter." + B.code, number); } catch (e) { /* private mode */ }
      enterDesk(number);
      say("ok", LobbyQ.fill(ZH.msg_opened, counterName(number)), LobbyQ.fill(EN.msg_opened, counterName(number)));
    } catch (err) {
      if (!handleAuth(err)) {
        try { S.counters = await api("GET", branchPath + "/counters"); } catch (e) { /* keep the old list */ }
        refusal(err);
        showPicker();
        if (err.code === "signed_in_elsewhere") findMyCounter();
      }
    } finally { S.busy = false; }
  }

  function enterDesk(number) {
    S.counter = number;
    S.applied = 0; S.appliedSeq = -1;
    show("desk");
    $("counter-name").textContent = `${counterName(number).zh} ${counterName(number).en}`;
    refresh();
    startLive();
  }

  function handleAuth(err) {
    if (err.status === 401) { showLogin(err); return true; }
    return false;
  }

  // ---------------------------------------------------------------- the truth

  let refreshTimer = null;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 60);
  }

  async function refresh() {
    if (!S.counter) return;
    const id = ++S.requested;
    let summary;
    try {
      summary = await api("GET", counterPath() + "/summary");
    } catch (err) {
      if (!handleAuth(err) && err.status === 0) setLink("down");
      return;
    }
    if (id < S.applied || summary.seq < S.appliedSeq || !S.counter) return;  // a newer read won
    S.applied = id; S.appliedSeq = summary.seq;
    S.offset = Date.parse(summary.now) - Date.now();
    if (!summary.mine) {
      // Closed elsewhere (another tab, the CLI, a manager): back to the picker.
      say("error", ZH.msg_not_here_now, LobbyQ.fill(EN.msg_not_here_now, {counter: S.counter}));
      await findMyCounter();
      return;
    }
    S.summary = summary;
    render();
  }

  function render() {
    const s = S.summary;
    if (!s) return;
    const c = s.counter;
    $("teller-name").textContent = s.you.display_name && s.you.display_name !== s.you.username
      ? `${s.you.display_name} (${s.you.username})` : s.you.username;
    const state = $("counter-state");
    state.className = "state " + c.state;
    state.textContent = { open: LobbyQ.both("state_open"), paused: LobbyQ.both("state_paused"), closed: LobbyQ.both("state_closed") }[c.state] || c.state;
    document.body.dataset.state = c.state;

    const t = s.current;
    const ticket = $("ticket");
    ticket.className = "ticket " + (t ? t.status : "idle") + (c.state === "paused" ? " paused" : "");
    $("t-number").textContent = t ? t.number : (c.state === "paused" ? ZH.state_paused : ZH.msg_idle);
    const status = $("t-status");
    const priority = $("t-priority");
    const facts = $("t-facts");
    facts.replaceChildren();
    if (t) {
      status.textContent = t.status === "serving" ? LobbyQ.both("msg_serving") : LobbyQ.both("msg_called") + " · " + LobbyQ.both("msg_waiting_customer");
      $("t-service").textContent = `${t.service_name.zh} · ${t.service_name.en}`;
      priority.hidden = false;
      priority.className = "priority p-" + t.priority;
      priority.textContent = `${t.priority_name.zh} ${t.priority_name.en}`;
      $("t-timer-label").textContent = t.status === "serving" ? LobbyQ.both("msg_service_time") : LobbyQ.both("msg_since_called");
      facts.append(
        el("span", null, LobbyQ.both("msg_waited") + " " + duration(t.waited_s)),
        el("span", null, LobbyQ.both("msg_recalls") + " " + t.recall_count)
      );
    } else {
      status.textContent = c.state === "paused" ? LobbyQ.both("msg_paused_now") : LobbyQ.both("msg_no_ticket", " · ");
      $("t-service").textContent = c.state === "paused"
        ? LobbyQ.both("msg_press_f8", " · ")
        : LobbyQ.both("msg_press_f1", " · ");
      priority.hidden = true;
      $("t-timer-label").textContent = c.state === "paused" ? LobbyQ.both("msg_paused_for") : LobbyQ.both("msg_idle_for");
    }

    // what each key can do now (a key still asks the server: it is the truth)
    const held = !!t, called = t && t.status === "called", open = c.state === "open";
    const can = {
      next: !held && open, call: !held && open, recall: called, start: called,
      complete: held, "no-show": called, transfer: held, pause: true, close: !held,
    };
    for (const button of document.querySelectorAll("#actions button")) {
      button.disabled = !can[button.dataset.action];
    }
    $("pause-zh").textContent = c.state === "paused" ? ZH.msg_resume : ZH.msg_pause;
    $("pause-en").textContent = c.state === "paused" ? EN.msg_resume : EN.msg_pause;

    const me = s.today.teller, here = s.today.counter;
    $("s-served").textContent = String(here.served);
    $("s-served-me").textContent = LobbyQ.both("msg_you") + ": " + me.served;
    $("s-avg").textContent = duration(here.service_avg_s);
    $("s-avg-me").textContent = LobbyQ.both("msg_you") + ": " + duration(me.service_avg_s);

    const list = $("w-list");
    list.replaceChildren();
    s.waiting.forEach((w, i) => {
      const item = el("li", (w.priority !== "normal" ? "prio " : "") + (w.escalated ? "late" : ""));
      item.dataset.number = w.number;
      item.append(el("span", "w-num", w.number));
      const p = el("span", "w-prio p-" + w.priority, `${w.priority_name.zh} `);
      p.append(el("small", null, w.priority_name.en));
      if (w.target_counter) p.textContent += " →" + w.target_counter;
      item.append(p);
      const waited = el("span", "w-wait");
      waited.dataset.since = w.enqueued_at;
      item.append(waited);
      if (i === 0) item.classList.add("first");
      list.append(item);
    });
    $("w-count").textContent = String(s.waiting.length);
    $("w-empty").hidden = s.waiting.length > 0;
    tick();
  }

  function tick() {
    const now = new Date(serverNow());
    // The branch's own time, whatever the teller PC's timezone is set to.
    $("clock").textContent = now.toLocaleTimeString("zh-CN", { hour12: false, timeZone: B.timezone });
    const s = S.summary;
    if (S.view !== "desk" || !s) return;
    const t = s.current;
    let from = null;
    if (t) from = t.status === "serving" ? (t.started_at || t.called_at) : t.called_at;
    else from = s.state_since;
    $("t-timer").textContent = duration(since(from));
    for (const cell of document.querySelectorAll("#w-list .w-wait")) {
      cell.textContent = duration(since(cell.dataset.since));
    }
  }

  // ---------------------------------------------------------------- live: WebSocket, else polling

  function setLink(kind) {
    const link = $("link");
    link.className = "link " + kind;
    $("link-text").textContent = { live: LobbyQ.both("link_live"), polling: LobbyQ.both("link_polling"), down: LobbyQ.both("link_down") }[kind];
  }

  function startLive() {
    stopLive();
    S.live = LobbyQ.live({
      path: `/ws/branches/${encodeURIComponent(B.code)}`,
      token: S.token,
      firstDelayMs: 1000,
      maxDelayMs: 15000,
      onStatus: (connected) => { S.wsLive = connected; setLink(connected ? "live" : "polling"); },
      onSnapshot: () => { S.lastRefresh = Date.now(); refreshSoon(); },  // read the counter again
      onEvent: () => { S.lastRefresh = Date.now(); refreshSoon(); },
      onRefused: () => { S.live = null; start(); return null; },  // the session is no longer valid
    });
    S.pollTimer = setInterval(() => {
      if (!S.wsLive || Date.now() - S.lastRefresh > SAFETY_MS) { S.lastRefresh = Date.now(); refresh(); }
    }, POLL_MS);
  }

  function stopLive() {
    clearInterval(S.pollTimer); S.pollTimer = null;
    if (S.live) { S.live.close(); S.live = null; }
    S.wsLive = false;
  }

  // ---------------------------------------------------------------- actions

  // Keys pressed while an action is on its way wait their turn (at most two), and
  // each runs on the state re-read after the one before: nothing is lost or doubled.
  const pending = [];
  let pumping = false;
  function enqueue(task) {
    if (pending.length >= 2) return;
    pending.push(task);
    pump();
  }
  async function pump() {
    if (pumping) return;
    pumping = true;
    try {
      while (pending.length) {
        const task = pending.shift();
        await task();
        if (S.dialog) { pending.length = 0; break; }  // a dialog now has the keys
      }
    } finally { pumping = false; }
  }

  async function act(path, body, done) {
    S.busy = true;
    document.body.classList.add("busy");
    try {
      const data = await api("POST", counterPath() + path, body);
      if (done) done(data);
    } catch (err) {
      if (!handleAuth(err)) refusal(err);
    } finally {
      S.busy = false;
      document.body.classList.remove("busy");
    }
    await refresh();
  }

  const called = (data, verb) => {
    const n = data.ticket.number;
    say("ok", `${verb.zh} ${n}`, `${verb.en} ${n}`);
  };

  const ACTIONS = {
    next: () => act("/call-next", undefined, (data) => {
      if (data === null) say("info", ZH.queue_empty, EN.queue_empty);
      else called(data, pair("done_called"));
    }),
    recall: () => act("/recall", undefined, (d) => called(d, pair("done_recalled"))),
    start: () => act("/start", undefined, (d) => called(d, pair("done_started"))),
    // The customer rates on the counter's pad (or phone); the teller only asks.
    complete: () => act("/complete", undefined, (d) => called(d, pair("done_completed"))),
    "ask-rating": () => act("/ask-rating", undefined, (d) =>
      say("ok", LobbyQ.fill(ZH.msg_rating_asked, d), LobbyQ.fill(EN.msg_rating_asked, d))),
    "no-show": () => act("/no-show", undefined, (d) => called(d, pair("done_no_show"))),
    transfer: () => openTransfer(),
    call: () => { $("call-number").value = ""; openDialog("call"); $("call-number").focus(); },
    pause: () => {
      const paused = S.summary && S.summary.counter.state === "paused";
      return act(paused ? "/resume" : "/pause", undefined, () =>
        paused ? say("ok", ZH.msg_resumed, EN.msg_resumed) : say("info", ZH.msg_paused_done, EN.msg_paused_done));
    },
    close: () => openDialog("close"),
  };

  function openTransfer() {
    const t = S.summary && S.summary.current;
    $("transfer-number").textContent = t ? t.number : "";
    const box = $("transfer-choices");
    box.replaceChildren();
    S.transferTargets = [];
    for (const service of B.services) {
      if (t && service.code === t.service) continue;
      S.transferTargets.push({ body: { service: service.code }, zh: LobbyQ.fill(ZH.msg_target_service, service.name), en: LobbyQ.fill(EN.msg_target_service, service.name) });
    }
    for (const counter of B.counters) {
      if (counter.number === S.counter) continue;
      S.transferTargets.push({ body: { counter: counter.number }, zh: counter.name.zh, en: `${counter.name.en} (${counter.services.join(", ")})` });
    }
    S.transferTargets.forEach((target, i) => {
      const button = el("button", "choice");
      button.type = "button";
      if (i < 9) button.append(el("kbd", null, String(i + 1)));
      button.append(el("b", null, target.zh), el("span", null, target.en));
      button.addEventListener("click", () => { closeDialog(); enqueue(() => transferTo(i)); });
      box.append(button);
    });
    openDialog("transfer");
  }

  function transferTo(i) {
    const target = S.transferTargets[i];
    if (!target) return;
    closeDialog();
    return act("/transfer", target.body, (d) =>
      say("ok", LobbyQ.fill(ZH.msg_transferred, {number: d.ticket.number, to: target.zh}), LobbyQ.fill(EN.msg_transferred, {number: d.ticket.number, to: target.en})));
  }

  function callNumber() {
    let number = $("call-number").value.trim().toUpperCase();
    if (!/^[A-Z0-9]{1,16}$/.test(number)) { $("call-number").focus(); return; }
    if (/^\d+$/.test(number) && S.summary) {
      // "12" calls A012 when exactly one waiting ticket of this counter ends in 12
      const found = S.summary.waiting.filter((w) => parseInt(w.number.replace(/\D/g, ""), 10) === parseInt(number, 10));
      if (found.length === 1) number = found[0].number;
    }
    closeDialog();
    return act("/call", { number }, (d) => called(d, pair("done_called")));
  }

  function openDialog(name) {
    closeDialog();
    S.dialog = name;
    $("dlg-" + name).hidden = false;
  }

  function closeDialog() {
    if (S.dialog) $("dlg-" + S.dialog).hidden = true;
    S.dialog = null;
  }

  async function closeCounter() {
    closeDialog();
    await act("/close", undefined, () => say("ok", ZH.msg_closed, EN.msg_closed));
    await findMyCounter();
  }

  // ---------------------------------------------------------------- keys

  const KEYS = { F1: "next", F2: "recall", F3: "start", F4: "complete", F5: "no-show", F6: "transfer", F7: "call", F8: "pause", F9: "close", F10: "ask-rating" };

  document.addEventListener("keydown", (event) => {
    if (/^F([1-9]|1[0-2])$/.test(event.key)) event.preventDefault();  // F1 help, F5 reload...
    if (event.repeat) return;
    if (S.dialog) return dialogKey(event);
    if (S.view === "picker" && /^[1-9]$/.test(event.key)) {
      const c = S.counters[Number(event.key) - 1];
      if (c) openCounter(c.number);
      return;
    }
    if (S.view !== "desk") return;
    const action = KEYS[event.key];
    if (action) enqueue(() => ACTIONS[action]());
  });

  function dialogKey(event) {
    if (event.key === "Escape") { event.preventDefault(); closeDialog(); return; }
    if (S.dialog === "transfer" && /^[1-9]$/.test(event.key)) {
      event.preventDefault(); const i = Number(event.key) - 1; closeDialog(); enqueue(() => transferTo(i));
    } else if (S.dialog === "close" && event.key === "Enter") {
      event.preventDefault(); closeDialog(); enqueue(closeCounter);
    } else if (S.dialog === "call" && event.key === "F7") {
      closeDialog();
    }
  }

  // ---------------------------------------------------------------- wiring

  for (const button of document.querySelectorAll("#actions button")) {
    button.addEventListener("click", () => enqueue(() => ACTIONS[button.dataset.action]()));
  }
  for (const overlay of document.querySelectorAll(".overlay")) {
    overlay.addEventListener("click", (event) => { if (event.target === overlay) closeDialog(); });
  }
  $("close-yes").addEventListener("click", () => { closeDialog(); enqueue(closeCounter); });
  $("close-no").addEventListener("click", closeDialog);
  $("call-form").addEventListener("submit", (event) => { event.preventDefault(); enqueue(callNumber); });
  $("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("login-submit");
    button.disabled = true;
    try {
      const out = await api("POST", "/auth/login", { username: $("username").value.trim(), password: $("password").value });
      S.token = S.token ? out.access_token : null;  // a header token is replaced; else the cookie is used
      $("password").value = "";
      $("message").hidden = true;
      await start();
    } catch (err) {
      refusal(err);
      $("password").select();
    } finally { button.disabled = false; }
  });
  $("logout").addEventListener("click", async () => {
    try { await api("POST", "/auth/logout"); } catch (e) { /* signed out locally anyway */ }
    S.token = null;
    showLogin(null);
  });

  S.lastRefresh = Date.now();
  setLink("polling");
  setInterval(tick, 500);
  tick();
  start();
})();
