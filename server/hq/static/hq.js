/* Headquarters page: the overview of every branch the user may see, polled every
   second from GET /api/v1/overview (shared and cached by the server), sortable by
   any column; and the branches compared over a date range, with its CSV. */
"use strict";

const TEXT = {
  zh: {
    title: "总行看板", subtitle: "全部网点一览", signout: "退出", live: "实时", branch: "网点",
    waiting: "等候人数", longest: "最长等候", open: "开放窗口", served: "今日已办",
    within: "达标率", satisfied: "满意率", alerts: "提醒", compare: "网点对比", from: "从",
    to: "至", run: "对比", csv: "下载 CSV", updated: "更新于", stale: "连接中断，数据可能已过时",
    live_ok: "实时", none: "无", lang: "English",
    over_target: (a) => `${a.service_name.zh}：${a.waiting} 人等候，最长 ${mmss(a.longest_wait_s)}（目标 ${mmss(a.target_wait_s)}）`,
    no_open_counter: (a) => `${a.service_name.zh}：${a.waiting} 人等候，但没有开放的窗口`,
    totals: (r) => `${r.branches} 个网点 · ${r.waiting} 人等候 · 今日已办 ${r.served} · ${r.alerts} 个网点有提醒`,
    cols: {issued: "取号", served: "已办", no_show: "过号", cancelled: "取消", wait_avg_s: "平均等候",
      wait_p50_s: "等候中位数", wait_p90_s: "等候 P90", wait_max_s: "最长等候", service_avg_s: "平均办理",
      within_target_pct: "达标率", satisfied_pct: "满意率", no_show_pct: "过号率"},
  },
  en: {
    title: "Headquarters", subtitle: "every branch at a glance", signout: "Sign out", live: "Live",
    branch: "Branch", waiting: "Waiting", longest: "Longest wait", open: "Open counters",
    served: "Served today", within: "Within target", satisfied: "Satisfied", alerts: "Alerts",
    compare: "Compare branches", from: "From", to: "To", run: "Compare", csv: "Download CSV",
    updated: "updated", stale: "Connection lost: figures may be stale", live_ok: "Live",
    none: "none", lang: "中文",
    over_target: (a) => `${a.service_name.en}: ${a.waiting} waiting, longest ${mmss(a.longest_wait_s)} (target ${mmss(a.target_wait_s)})`,
    no_open_counter: (a) => `${a.service_name.en}: ${a.waiting} waiting, no open counter`,
    totals: (r) => `${r.branches} branches · ${r.waiting} waiting · ${r.served} served today · ${r.alerts} with alerts`,
    cols: {issued: "Issued", served: "Served", no_show: "No-show", cancelled: "Cancelled",
      wait_avg_s: "Avg wait", wait_p50_s: "Median wait", wait_p90_s: "P90 wait", wait_max_s: "Max wait",
      service_avg_s: "Avg service", within_target_pct: "Within target", satisfied_pct: "Satisfied",
      no_show_pct: "No-show %"},
  },
};
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
function t(key) { return TEXT[state.lang][key]; }
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
      ? row.alerts.map((a) => el("span", {class: `alert ${a.kind}`}, t(a.kind)(a)))
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
  document.getElementById("totals").textContent = t("totals")(totals);
}

function renderComparison() {
  const head = document.querySelector("#comparison thead tr");
  const cols = t("cols");
  head.replaceChildren(el("th", {}, t("branch")),
    ...COMPARE_COLS.map((c) => el("th", {class: "num"}, cols[c])));
  const body = document.querySelector("#comparison tbody");
  if (!state.compared) { body.replaceChildren(); return; }
  body.replaceChildren(...state.compared.rows.map((row) => el("tr", {"data-branch": row.key},
    el("td", {}, row.name[state.lang], el("span", {class: "code"}, row.key)),
    ...COMPARE_COLS.map((c) => el("td", {class: "num"},
      c.endsWith("_pct") ? pct(row[c]) : c.endsWith("_s") ? mmss(row[c]) : String(row[c]))))));
}

function renderTexts() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t(node.dataset.t);
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
