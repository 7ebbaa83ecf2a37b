/* LobbyQ manager dashboard: live queue from the hub (/ws/branches/{b}, falling back
   to polling GET /queue), alerts, and charts and tables of a date range. All text is
   set with textContent: nothing from the server is parsed as HTML. */
"use strict";

const BOOT = LobbyQ.data("boot");
const BRANCH = BOOT.branch;
const TZ = BRANCH.timezone;
const API = "/api/v1/branches/" + encodeURIComponent(BRANCH.code);
const SERVICES = Object.fromEntries(BRANCH.services.map((s) => [s.code, s]));
const COLORS = ["#0b6aa8", "#2e9e5b", "#e08a00", "#8e44ad", "#d0453a", "#16a2b8", "#6d7a8a"];
const IDLE_GRACE_MS = 20000;

const state = {
  queue: null,
  summary: null,
  clockOffset: 0, // server clock - browser clock
  idleSince: {},
  firstQueue: true,
  charts: {},
  live: null,
  wsOk: false,
  pollTimer: null,
};

// --- helpers -------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key === "style") node.style.cssText = value; // CSSOM: allowed under a strict CSP
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
function serverNow() { return Date.now() + state.clockOffset; }
function minutes(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const whole = Math.round(seconds);
  return Math.floor(whole / 60) + ":" + String(whole % 60).padStart(2, "0");
}
function mins(seconds) { return seconds === null || seconds === undefined ? null : +(seconds / 60).toFixed(1); }
function pct(value) { return value === null || value === undefined ? "–" : value.toFixed(1) + "%"; }
function localDate(ms) {
  return new Intl.DateTimeFormat("en-CA", {timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit"})
    .format(new Date(ms));
}
function localTime(ms, seconds) {
  const options = {timeZone: TZ, hour: "2-digit", minute: "2-digit", hour12: false};
  if (seconds) options.second = "2-digit";
  return new Intl.DateTimeFormat("zh-CN", options).format(new Date(ms));
}
function serviceName(code) { const s = SERVICES[code]; return s ? s.name.zh : code; }
function tellerName(username) {
  if (!username) return "";
  const names = (state.summary && state.summary.tellers) || {};
  return names[username] && names[username] !== username ? names[username] + "（" + username + "）" : username;
}
function headers() { return BOOT.token ? {Authorization: "Bearer " + BOOT.token} : {}; }
async function getJSON(url) {
  const response = await fetch(url, {headers: headers(), credentials: "same-origin"});
  if (response.status === 401) { location.reload(); throw new Error("signed out"); }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error((body.error && body.error.message) || response.statusText);
  }
  return response.json();
}
function debounce(fn, ms) {
  let timer = null;
  return () => { clearTimeout(timer); timer = setTimeout(fn, ms); };
}

// --- live queue ----------------------------------------------------------------------
function waitingOf(service) { return (service.waiting || []); }
function ageS(ticket) { return (serverNow() - Date.parse(ticket.enqueued_at)) / 1000; }

function renderLive() {
  const queue = state.queue;
  if (!queue) return;
  let waitingTotal = 0;
  let longest = null;
  const tbody = document.getElementById("services");
  tbody.replaceChildren();
  for (const service of queue.services) {
    const list = waitingOf(service);
    waitingTotal += list.length;
    const target = service.target_wait_s || (SERVICES[service.code] || {}).target_wait_s || 900;
    let oldest = null;
    for (const t of list) {
      const age = ageS(t);
      if (!oldest || age > oldest.age) oldest = {age, number: t.number};
      if (!longest || age > longest.age) longest = {age, number: t.number, service: service.code};
    }
    const ratio = oldest ? oldest.age / target : 0;
    const level = ratio > 1 ? "over" : ratio > 0.75 ? "warn" : "";
    const bar = el("div", {class: "bar " + level},
      el("div", {class: "fill", style: "width:" + Math.min(100, ratio * 100).toFixed(0) + "%"}),
      el("span", {class: "text"}, oldest ? minutes(oldest.age) + " · " + oldest.number + " / " + LobbyQ.fill(LobbyQ.t("targetMin", "zh"), {m: Math.round(target / 60)})
        : LobbyQ.fill(LobbyQ.both("nobodyTarget", " · "), {m: Math.round(target / 60)})));
    tbody.append(el("tr", {},
      el("td", {}, el("strong", {}, service.code + " "), service.name.zh, el("span", {class: "en"}, " " + service.name.en)),
      el("td", {class: "num count"}, list.length),
      el("td", {}, bar)));
  }
  setKpi("kpi-waiting", waitingTotal, LobbyQ.both("peopleWaiting"), waitingTotal > 20 ? "warn" : "");
  if (longest) {
    const target = (SERVICES[longest.service] || {}).target_wait_s || 900;
    setKpi("kpi-longest", minutes(longest.age), longest.number + " · " + serviceName(longest.service),
      longest.age > target ? "bad" : longest.age > 0.75 * target ? "warn" : "good");
  } else {
    setKpi("kpi-longest", "0:00", LobbyQ.both("nobodyWaiting"), "good");
  }
  renderCounters();
  renderAlerts();
}

function callableBy(counter, ticket, serviceCode) {
  if (ticket.target_counter) return ticket.target_counter === counter.number;
  return (counter.services || []).includes(serviceCode);
}

function idleCounters() {
  const queue = state.queue;
  const idle = [];
  const now = Date.now();
  for (const counter of queue.counters) {
    let waiting = 0;
    if (counter.state === "open" && !counter.current) {
      for (const service of queue.services) {
        for (const t of waitingOf(service)) if (callableBy(counter, t, service.code)) waiting += 1;
      }
    }
    if (waiting > 0) {
      if (!(counter.number in state.idleSince)) state.idleSince[counter.number] = state.firstQueue ? 0 : now;
      if (now - state.idleSince[counter.number] >= IDLE_GRACE_MS) idle.push({counter, waiting});
    } else {
      delete state.idleSince[counter.number];
    }
  }
  state.firstQueue = false;
  return idle;
}

// Services with customers waiting and no open counter serving them: every counter of
// the service is paused or closed (shown at once: nobody will call these customers).
// Tickets sent to one counter (a transfer) wait for that counter, not the service.
function unservedServices() {
  const queue = state.queue;
  const unserved = [];
  for (const service of queue.services) {
    const serving = queue.counters.filter((counter) => (counter.services || []).includes(service.code));
    if (serving.some((counter) => counter.state === "open")) continue;
    const waiting = waitingOf(service).filter((t) => !t.target_counter).length;
    if (waiting) unserved.push({service, waiting, counters: serving});
  }
  return unserved;
}

function renderCounters() {
  const box = document.getElementById("counters");
  box.replaceChildren();
  const idle = new Set(idleCounters().map((i) => i.counter.number));
  let open = 0, paused = 0;
  for (const counter of state.queue.counters) {
    if (counter.state === "open") open += 1;
    if (counter.state === "paused") paused += 1;
    const label = ({open: LobbyQ.both("counter_open"), paused: LobbyQ.both("counter_paused"), closed: LobbyQ.both("counter_closed")})[counter.state] || counter.state;
    const cls = "counter " + counter.state + (idle.has(counter.number) ? " idle" : "");
    const services = (counter.services || []).join(" ");
    box.append(el("div", {class: cls, "data-counter": counter.number},
      el("span", {class: "name"}, counter.name ? counter.name.zh : counter.number),
      el("span", {class: "state"}, idle.has(counter.number) ? LobbyQ.both("idle") : label),
      el("span", {class: "who"}, counter.username ? tellerName(counter.username) : LobbyQ.both("nobody", " · "), el("span", {class: "en"}, "  " + services)),
      el("span", {class: "current"}, counter.current || (counter.state === "open" ? "—" : ""))));
  }
  const total = state.queue.counters.length;
  setKpi("kpi-counters", open + " / " + total, LobbyQ.both("open") + " · " + paused + " " + LobbyQ.both("paused"), open === 0 ? "warn" : "");
}

function renderAlerts() {
  const list = document.getElementById("alerts");
  list.replaceChildren();
  const items = [];
  for (const service of state.queue.services) {
    const target = service.target_wait_s || (SERVICES[service.code] || {}).target_wait_s || 900;
    const over = waitingOf(service).filter((t) => ageS(t) > target);
    if (over.length) {
      const oldest = over.reduce((a, b) => (ageS(b) > ageS(a) ? b : a));
      const m = Math.round(target / 60);
      items.push(el("li", {class: "over"},
        LobbyQ.fill(LobbyQ.t("alertOver", "zh"), {code: service.code, name: service.name.zh, n: over.length, m, oldest: oldest.number, age: minutes(ageS(oldest))}),
        el("span", {class: "en"}, LobbyQ.fill(LobbyQ.t("alertOver", "en"), {name: service.name.en, n: over.length, m, oldest: oldest.number, age: minutes(ageS(oldest))}))));
    }
  }
  for (const {service, waiting, counters} of unservedServices()) {
    const zh = counters.map((c) => (c.name ? c.name.zh : c.number) + (c.state === "paused" ? LobbyQ.t("counter_paused", "zh") : LobbyQ.t("counter_closed", "zh")));
    const en = counters.map((c) => (c.name ? c.name.en : "Counter " + c.number) + " " + c.state);
    items.push(el("li", {class: "unserved"},
      LobbyQ.fill(LobbyQ.t("alertUnserved", "zh"), {code: service.code, name: service.name.zh, n: waiting}) +
        (zh.length ? `（${zh.join("、")}）` : LobbyQ.t("noCounterServes", "zh")),
      el("span", {class: "en"}, LobbyQ.fill(LobbyQ.t("alertUnserved", "en"), {name: service.name.en, n: waiting}) +
        (en.length ? ` (${en.join(", ")})` : LobbyQ.t("noCounterServes", "en")))));
  }
  for (const {counter, waiting} of idleCounters()) {
    const name = counter.name ? counter.name.zh : counter.number;
    const en = counter.name ? counter.name.en : "Counter " + counter.number;
    const who = counter.username ? tellerName(counter.username) : "";
    items.push(el("li", {class: "idle"},
      LobbyQ.fill(LobbyQ.t("alertIdle", "zh"), {name: name + (who ? "（" + who + "）" : ""), n: waiting}),
      el("span", {class: "en"}, LobbyQ.fill(LobbyQ.t("alertIdle", "en"), {name: en, n: waiting}))));
  }
  if (!items.length) items.push(el("li", {class: "ok"}, LobbyQ.both("allClear", " · ")));
  list.append(...items);
}

function setKpi(id, value, sub, level) {
  const box = document.getElementById(id);
  box.className = "kpi" + (level ? " " + level : "");
  box.querySelector(".value").textContent = value;
  box.querySelector(".sub").textContent = sub || "";
}

async function refreshQueue() {
  try {
    state.queue = await getJSON(API + "/queue");
    renderLive();
  } catch (e) { console.warn("queue", e); }
}
const refreshQueueSoon = debounce(refreshQueue, 300);

// --- the hub ---------------------------------------------------------------------------
function setLive(ok, text) {
  const badge = document.getElementById("live");
  badge.className = "live " + (ok ? "on" : "off");
  badge.textContent = text;
}

function connect() {
  state.live = LobbyQ.live({
    path: "/ws/branches/" + encodeURIComponent(BRANCH.code),
    token: BOOT.token,
    onStatus: (connected) => {
      state.wsOk = connected;
      if (connected) { stopPolling(); setLive(true, LobbyQ.both("live")); }
      else { setLive(false, LobbyQ.both("polling")); startPolling(); }
    },
    onSnapshot: (data) => {
      if (data.services) { state.queue = data; renderLive(); }
    },
    onEvent: (event) => {
      if (event.type.startsWith("ticket.") || event.type === "counter.updated") {
        refreshQueueSoon();
        if (rangeIncludesToday()) refreshSummarySoon();
      }
    },
    onRefused: () => { startPolling(); return null; }, // not authorised: polling sends us to sign in
  });
}
function startPolling() {
  if (!state.pollTimer) state.pollTimer = setInterval(refreshQueue, 10000);
}
function stopPolling() { clearInterval(state.pollTimer); state.pollTimer = null; }

// --- date range, charts, table ------------------------------------------------------------
function rangeParams() {
  const params = new URLSearchParams();
  params.set("from", document.getElementById("from").value);
  params.set("to", document.getElementById("to").value);
  return params;
}
function rangeIncludesToday() {
  const today = localDate(serverNow());
  return document.getElementById("from").value <= today && today <= document.getElementById("to").value;
}

async function refreshSummary() {
  try {
    const summary = await getJSON("/dashboard/" + encodeURIComponent(BRANCH.code) + "/summary.json?" + rangeParams());
    state.clockOffset = Date.parse(summary.now) - Date.now();
    state.summary = summary;
    renderSummary();
    if (state.queue) renderLive();
  } catch (e) {
    document.getElementById("range-label").textContent = "⚠ " + e.message;
  }
}
const refreshSummarySoon = debounce(refreshSummary, 4000);

function renderSummary() {
  const s = state.summary;
  const t = s.totals;
  setKpi("kpi-served", t.served, LobbyQ.fill(LobbyQ.t("servedNote", "zh"), t), "");
  setKpi("kpi-wait", minutes(t.wait_avg_s), "P90 " + minutes(t.wait_p90_s) + " · " + LobbyQ.both("max") + " " + minutes(t.wait_max_s), "");
  const within = t.within_target_pct;
  setKpi("kpi-target", pct(within), LobbyQ.both("withinTarget"),
    within === null ? "" : within >= 90 ? "good" : within >= 75 ? "warn" : "bad");
  setKpi("kpi-satisfied", pct(t.satisfied_pct), LobbyQ.fill(LobbyQ.both("ratingsNote"), t), "");
  const from = document.getElementById("from").value, to = document.getElementById("to").value;
  document.getElementById("range-label").textContent = from === to ? from : from + " → " + to;
  drawHourChart(s.by_hour);
  drawServiceChart(s.service_times);
  drawTellerChart(s.by_teller);
}

function chart(id, config) {
  if (state.charts[id]) state.charts[id].destroy();
  config.options = Object.assign({responsive: true, maintainAspectRatio: false, animation: false}, config.options || {});
  state.charts[id] = new Chart(document.getElementById(id), config);
}

function drawHourChart(rows) {
  const hours = rows.map((r) => r.key);
  const lo = hours.length ? Math.min(8, ...hours) : 8, hi = hours.length ? Math.max(17, ...hours) : 17;
  const labels = [], avg = [], p90 = [], issued = [];
  const byHour = Object.fromEntries(rows.map((r) => [r.key, r]));
  for (let h = lo; h <= hi; h++) {
    const r = byHour[h] || {};
    labels.push(String(h).padStart(2, "0") + ":00");
    avg.push(mins(r.wait_avg_s)); p90.push(mins(r.wait_p90_s)); issued.push(r.issued || 0);
  }
  chart("chart-hour", {
    data: {labels, datasets: [
      {type: "bar", label: LobbyQ.both("avgWait"), data: avg, backgroundColor: "#0b6aa8", yAxisID: "y"},
      {type: "line", label: "P90", data: p90, borderColor: "#d0453a", backgroundColor: "#d0453a", yAxisID: "y", tension: 0.3},
      {type: "line", label: LobbyQ.both("ticketsIssued"), data: issued, borderColor: "#9aa5b4", borderDash: [5, 4], pointRadius: 0, yAxisID: "y2", tension: 0.3},
    ]},
    options: {scales: {
      y: {beginAtZero: true, title: {display: true, text: LobbyQ.both("minutes")}},
      y2: {beginAtZero: true, position: "right", grid: {drawOnChartArea: false}, title: {display: true, text: LobbyQ.both("peopleTickets")}},
    }, plugins: {legend: {position: "bottom"}}},
  });
}

function drawServiceChart(hist) {
  chart("chart-service", {
    type: "bar",
    data: {labels: hist.labels, datasets: hist.series.map((series, i) => ({
      label: series.service + " " + serviceName(series.service), data: series.counts,
      backgroundColor: COLORS[i % COLORS.length],
    }))},
    options: {scales: {x: {stacked: true, title: {display: true, text: LobbyQ.both("serviceTimeMin")}},
      y: {stacked: true, beginAtZero: true, title: {display: true, text: LobbyQ.both("peopleCustomers")}}},
      plugins: {legend: {position: "bottom", labels: {boxWidth: 12}}}},
  });
}

function drawTellerChart(rows) {
  const sorted = rows.slice().sort((a, b) => b.served - a.served);
  chart("chart-teller", {
    type: "bar",
    data: {labels: sorted.map((r) => r.name.zh), datasets: [
      {label: LobbyQ.both("served"), data: sorted.map((r) => r.served), backgroundColor: "#2e9e5b"},
      {label: LobbyQ.both("avgService"), data: sorted.map((r) => mins(r.service_avg_s)), backgroundColor: "#e08a00", xAxisID: "x2"},
    ]},
    options: {indexAxis: "y", scales: {
      x: {beginAtZero: true, position: "bottom", title: {display: true, text: LobbyQ.both("peopleServed")}},
      x2: {beginAtZero: true, position: "top", grid: {drawOnChartArea: false}, title: {display: true, text: LobbyQ.both("minutes")}},
    }, plugins: {legend: {position: "bottom"}}},
  });
}

const GROUP_HEAD = {service: LobbyQ.both("group_service"), counter: LobbyQ.both("group_counter"), teller: LobbyQ.both("group_teller"),
  priority: LobbyQ.both("group_priority"), hour: LobbyQ.both("group_hour"), day: LobbyQ.both("group_day")};

async function refreshTable() {
  const group = document.getElementById("group-by").value;
  const params = rangeParams();
  params.set("group_by", group);
  document.getElementById("csv").href = API + "/stats.csv?" + params;
  document.getElementById("group-head").textContent = GROUP_HEAD[group];
  try {
    const report = await getJSON(API + "/stats?" + params);
    const body = document.getElementById("stats");
    body.replaceChildren(...report.rows.map((r) => statsRow(r, group)));
    document.getElementById("stats-total").replaceChildren(statsRow(report.totals, group));
    document.getElementById("table-note").textContent = report.rows.length ? "" : LobbyQ.both("noTickets", " · ");
  } catch (e) {
    document.getElementById("table-note").textContent = "⚠ " + e.message;
  }
}

function statsRow(r, group) {
  let label;
  if (r.key === "total") label = LobbyQ.both("total");
  else if (group === "hour" || group === "day") label = r.name.zh;
  else label = (r.key === null ? "" : r.key + " ") + r.name.zh + (r.name.en !== r.name.zh ? " · " + r.name.en : "");
  const within = el("td", {class: "num" + (r.within_target_pct !== null && r.within_target_pct < 80 ? " bad" : "")}, pct(r.within_target_pct));
  return el("tr", {},
    el("td", {}, label), el("td", {class: "num"}, r.issued), el("td", {class: "num"}, r.served),
    el("td", {class: "num"}, r.no_show), el("td", {class: "num"}, r.cancelled), el("td", {class: "num"}, r.transferred),
    el("td", {class: "num"}, minutes(r.wait_avg_s)), el("td", {class: "num"}, minutes(r.wait_p50_s)),
    el("td", {class: "num"}, minutes(r.wait_p90_s)), el("td", {class: "num"}, minutes(r.wait_max_s)),
    el("td", {class: "num"}, minutes(r.service_avg_s)), el("td", {class: "num"}, minutes(r.service_p90_s)),
    within, el("td", {class: "num"}, r.ratings), el("td", {class: "num"}, pct(r.satisfied_pct)),
    el("td", {class: "num"}, r.rating_avg === null || r.rating_avg === undefined ? "–" : r.rating_avg.toFixed(2) + "★"));
}

// --- start ---------------------------------------------------------------------------------
function tick() {
  document.getElementById("clock").textContent = localTime(serverNow(), true);
  if (state.queue) renderLive();
}

async function start() {
  const today = localDate(Date.now());
  document.getElementById("from").value = today;
  document.getElementById("to").value = today;
  await refreshSummary();
  // The summary carries the server's clock: the range starts on the server's today.
  const serverToday = localDate(serverNow());
  if (serverToday !== today) {
    document.getElementById("from").value = serverToday;
    document.getElementById("to").value = serverToday;
    await refreshSummary();
  }
  refreshTable();
  await refreshQueue();
  connect();
  document.getElementById("range").addEventListener("submit", (event) => {
    event.preventDefault();
    refreshSummary();
    refreshTable();
  });
  document.getElementById("group-by").addEventListener("change", refreshTable);
  document.getElementById("signout").addEventListener("click", async () => {
    await fetch("/api/v1/auth/logout", {method: "POST", credentials: "same-origin"});
    location.reload();
  });
  setInterval(tick, 1000);
  setInterval(refreshSummary, 60000);
  tick();
  document.body.dataset.ready = "1";
}

start();
