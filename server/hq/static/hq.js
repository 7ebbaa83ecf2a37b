/* Headquarters page: the overview of every branch the user may see, polled every
   second from GET /api/v1/overview (shared and cached by the server), sortable by
   any column; and the branches compared over a date range, with its CSV. */
"use strict";

// Texts: server/web/catalogues/<lang>.json (hq.*), through LobbyQ.t.
const COMPARE_COLS = ["issued", "served", "no_show", "cancelled", "wait_avg_s", "wait_p50_s",
  "wait_p90_s", "wait_max_s", "service_avg_s", "within_target_pct", "satisfied_pct", "no_show_pct"];
const POLL_MS = 1000;

const state = {
  lang: localStorage.getItem("lobbyq-hq-lang") || "zh",
  rows: [], sortKey: "waiting", sortDir: -1, lastOk: 0, compared: null,
};

function mmss(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
function pct(value) { return value === null || value === undefined ? "–" : `${value.toFixed(1)}%`; }
function t(key, values) {
  LobbyQ.lang = state.lang;
  return LobbyQ.t(key).replace(/\{(\w+)\}/g, (all, name) => (values && name in values ? values[name] : all));
}
function alertText(a) {
  return t(a.kind, {service: a.service_name[state.lang], waiting: a.waiting,
    longest: mmss(a.longest_wait_s), target: mmss(a.target_wait_s)});
}
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const child of children) node.append(child);
  return node;
}

function sortValue(row, key) {
  if (key === "name") return row.name[state.lang];
  if (key === "alerts") return row.alerts.length;
  const value = row[key];
  return value === null || value === undefined ? -Infinity : value;
}

function renderOverview() {
  const body = document.querySelector("#overview tbody");
  const rows = [...state.rows].sort((a, b) => {
    const x = sortValue(a, state.sortKey), y = sortValue(b, state.sortKey);
    if (x < y) return -state.sortDir;
    if (x > y) return state.sortDir;
    return a.branch < b.branch ? -1 : 1;
  });
  body.replaceChildren(...rows.map((row) => {
    const alerts = row.alerts.length
      ? row.alerts.map((a) => el("span", {class: `alert ${a.kind}`}, alertText(a)))
      : [el("span", {class: "none"}, t("none"))];
    const tr = el("tr", {"data-branch": row.branch, class: row.alerts.length ? "has-alert" : ""},
      el("td", {}, row.name[state.lang], el("span", {class: "code"}, row.branch)),
      el("td", {class: "num"}, String(row.waiting)),
      el("td", {class: "num" + (row.alerts.some((a) => a.kind === "over_target") ? " bad" : "")},
        mmss(row.longest_wait_s)),
      el("td", {class: "num"}, `${row.open_counters} / ${row.counters}`),
      el("td", {class: "num"}, String(row.served_today)),
      el("td", {class: "num"}, pct(row.within_target_pct)),
      el("td", {class: "num"}, pct(row.satisfied_pct)),
      el("td", {}, ...alerts));
    return tr;
  }));
  for (const th of document.querySelectorAll("#overview th")) {
    th.setAttribute("aria-sort", th.dataset.key === state.sortKey
      ? (state.sortDir > 0 ? "ascending" : "descending") : "none");
  }
  const totals = {
    branches: state.rows.length,
    waiting: state.rows.reduce((n, r) => n + r.waiting, 0),
    served: state.rows.reduce((n, r) => n + r.served_today, 0),
    alerts: state.rows.filter((r) => r.alerts.length).length,
  };
  document.getElementById("totals").textContent = t("totals", totals);
}

function renderComparison() {
  const head = document.querySelector("#comparison thead tr");
  head.replaceChildren(el("th", {}, t("branch")),
    ...COMPARE_COLS.map((c) => el("th", {class: "num"}, t(`col.${c}`))));
  const body = document.querySelector("#comparison tbody");
  if (!state.compared) { body.replaceChildren(); return; }
  body.replaceChildren(...state.compared.rows.map((row) => el("tr", {"data-branch": row.key},
    el("td", {}, row.name[state.lang], el("span", {class: "code"}, row.key)),
    ...COMPARE_COLS.map((c) => el("td", {class: "num"},
      c.endsWith("_pct") ? pct(row[c]) : c.endsWith("_s") ? mmss(row[c]) : String(row[c]))))));
}

function renderTexts() {
  LobbyQ.setLang(state.lang);  // fills every [data-i18n]
  document.getElementById("lang").textContent = t("lang");
  renderOverview();
  renderComparison();
  showStatus();
}

function showStatus() {
  const status = document.getElementById("status");
  const stale = Date.now() - state.lastOk > 3 * POLL_MS;
  status.textContent = stale ? t("stale") : t("live_ok");
  status.className = "status" + (stale ? " stale" : "");
  if (state.lastOk) {
    document.getElementById("updated").textContent =
      `${t("updated")} ${new Date(state.lastOk).toLocaleTimeString(state.lang === "zh" ? "zh-CN" : "en-GB")}`;
  }
}

async function poll() {
  try {
    const response = await fetch("/api/v1/overview", {credentials: "same-origin"});
    if (response.status === 401) { location.reload(); return; }
    if (response.ok) {
      state.rows = await response.json();
      state.lastOk = Date.now();
      renderOverview();
    }
  } catch (e) { /* shown as stale below */ }
  showStatus();
  setTimeout(poll, POLL_MS);
}

function range() {
  return new URLSearchParams({from: document.getElementById("from").value,
    to: document.getElementById("to").value}).toString();
}

async function runComparison() {
  const response = await fetch(`/api/v1/overview/compare?${range()}`, {credentials: "same-origin"});
  if (response.ok) state.compared = await response.json();
  document.getElementById("csv").href = `/api/v1/overview/compare.csv?${range()}`;
  renderComparison();
}

function isoDay(date) {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 10);
}

document.querySelectorAll("#overview th").forEach((th) => th.addEventListener("click", () => {
  if (state.sortKey === th.dataset.key) state.sortDir = -state.sortDir;
  else { state.sortKey = th.dataset.key; state.sortDir = th.dataset.key === "name" ? 1 : -1; }
  renderOverview();
}));
document.getElementById("lang").addEventListener("click", () => {
  state.lang = state.lang === "zh" ? "en" : "zh";
  localStorage.setItem("lobbyq-hq-lang", state.lang);
  renderTexts();
});
document.getElementById("signout").addEventListener("click", async () => {
  await fetch("/api/v1/auth/logout", {method: "POST", credentials: "same-origin"});
  location.reload();
});
document.getElementById("run").addEventListener("click", runComparison);
const today = new Date();
document.getElementById("to").value = isoDay(today);
document.getElementById("from").value = isoDay(new Date(today.getTime() - 6 * 86400000));
renderTexts();
poll();
runComparison();
