/* LobbyQ manager: the bookings of a day (capacity used per slot and service, blocks,
   CSV) and the opinion book (inbox, detail with the contact, reply, status, overdue,
   monthly counts). Every text from the public goes in with textContent. */
"use strict";
const BOOT = LobbyQ.data("boot");
const B = BOOT.branch.code;
const API = "/api/v1/branches/" + encodeURIComponent(B);
const STATUS = {new: LobbyQ.both("opinion_new"), in_progress: LobbyQ.both("opinion_in_progress"),
  replied: LobbyQ.both("opinion_replied"), closed: LobbyQ.both("opinion_closed")};
const BOOKING_STATUS = {expected: LobbyQ.both("booking_expected"), arrived: LobbyQ.both("booking_arrived"),
  missed: LobbyQ.both("booking_missed"), cancelled: LobbyQ.both("booking_cancelled")};
const SOURCE = {kiosk: LobbyQ.both("source_kiosk"), mobile: LobbyQ.both("source_mobile"),
  book: LobbyQ.both("source_book"), rating: LobbyQ.both("source_rating"), web: LobbyQ.both("source_web")};
const state = {status: "", selected: null, day: null};

function headers(json) {
  const h = BOOT.token ? {Authorization: "Bearer " + BOOT.token} : {};
  if (json) h["Content-Type"] = "application/json";
  return h;
}
async function api(method, path, body) {
  const response = await fetch(API + path, {method, headers: headers(!!body), credentials: "same-origin",
    body: body ? JSON.stringify(body) : undefined});
  if (response.status === 401) { location.reload(); throw new Error("signed out"); }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
  return data;
}
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function row(cells) {
  const tr = document.createElement("tr");
  cells.forEach((c) => tr.appendChild(c instanceof Node ? c : el("td", c)));
  return tr;
}
function both(name) { return name ? name.zh + " " + name.en : ""; }
function hhmm(iso) { return iso ? iso.slice(11, 16) : ""; }
function when(iso) { return iso ? iso.slice(0, 16).replace("T", " ") : ""; }

// -- bookings -------------------------------------------------------------------------------
async function loadDay() {
  const query = state.day ? "?date=" + state.day : ""; // none: the branch's today
  const [cal, list] = await Promise.all([
    api("GET", "/bookings/calendar" + query),
    api("GET", "/bookings" + query),
  ]);
  const day = state.day = cal.date;
  dateInput.value = day;
  const head = document.getElementById("cal-head");
  head.textContent = "";
  head.appendChild(row([el("th", LobbyQ.both("slot"))].concat(cal.services.map((s) => el("th", both(s.name) + " (" + s.capacity + ")"))).concat([el("th", "")])));
  const body = document.getElementById("cal-body");
  body.textContent = "";
  const blockByAt = {};
  cal.blocks.forEach((b) => { if (b.at) blockByAt[b.at] = b; });
  cal.slots.forEach((slot) => {
    const cells = [el("td", hhmm(slot.at))];
    cal.services.forEach((s) => {
      const used = slot.used[s.code];
      const td = el("td", used + " / " + s.capacity, "cell " + (used >= s.capacity ? "full" : used > 0 ? "some" : ""));
      td.dataset.service = s.code;
      cells.push(td);
    });
    const act = el("td", null, "act");
    const blocked = blockByAt[slot.at];
    const button = el("button", blocked ? LobbyQ.both("unblock") : LobbyQ.both("block"));
    button.type = "button";
    button.addEventListener("click", async () => {
      if (blocked) await api("DELETE", "/booking/blocks/" + blocked.id);
      else await api("POST", "/booking/blocks", {date: day, at: slot.at});
      loadDay();
    });
    if (!cal.day_blocked) act.appendChild(button);
    cells.push(act);
    const tr = row(cells);
    tr.dataset.at = slot.at;
    if (slot.blocked) tr.className = "blocked";
    body.appendChild(tr);
  });
  const dayBlock = cal.blocks.filter((b) => !b.at)[0];
  const dayButton = document.getElementById("block-day");
  dayButton.textContent = dayBlock ? LobbyQ.both("unblockDay", " · ") : LobbyQ.both("blockDay", " · ");
  dayButton.onclick = async () => {
    if (dayBlock) await api("DELETE", "/booking/blocks/" + dayBlock.id);
    else await api("POST", "/booking/blocks", {date: day});
    loadDay();
  };
  document.getElementById("cal-note").textContent = cal.slots.length ? "" : LobbyQ.both("closedDay", " · ");
  document.getElementById("bookings-csv").href = API + "/bookings.csv?date=" + day;
  const c = list.counts;
  document.getElementById("counts").textContent =
    LobbyQ.fill(LobbyQ.t("bookingCounts", "zh"), c);
  const rows = document.getElementById("bookings");
  rows.textContent = "";
  const names = {};
  BOOT.branch.services.forEach((s) => { names[s.code] = both(s.name); });
  list.bookings.forEach((b) => rows.appendChild(row([hhmm(b.at), names[b.service] || b.service, b.name, b.phone, b.code,
    BOOKING_STATUS[b.status], b.ticket || ""])));
  if (!list.bookings.length) rows.appendChild(row([el("td", LobbyQ.both("noBookings", " · "), "muted")]));
}

// -- opinions -------------------------------------------------------------------------------
function renderTabs(counts) {
  const tabs = document.getElementById("tabs");
  tabs.textContent = "";
  [["", LobbyQ.both("all")]].concat(Object.entries(STATUS)).forEach(([code, label]) => {
    const b = el("button", label + (code && counts ? " " + counts[code] : ""));
    b.type = "button";
    b.setAttribute("role", "tab");
    b.setAttribute("aria-selected", String(state.status === code));
    b.dataset.status = code;
    b.addEventListener("click", () => { state.status = code; loadInbox(); });
    tabs.appendChild(b);
  });
}
async function loadInbox() {
  const [list, summary] = await Promise.all([
    api("GET", "/opinions" + (state.status ? "?status=" + state.status : "")),
    api("GET", "/opinions/summary"),
  ]);
  renderTabs(summary.by_status);
  const body = document.getElementById("inbox");
  body.textContent = "";
  list.forEach((o) => {
    const badge = el("span", STATUS[o.status], "badge " + o.status);
    const status = el("td"); status.appendChild(badge);
    const tr = row([o.code, when(o.created_at), o.category_name.zh, el("td", o.text, "text"), o.contact || "", status]);
    tr.dataset.id = o.id;
    if (o.overdue) tr.classList.add("overdue");
    if (o.id === state.selected) tr.classList.add("selected");
    tr.addEventListener("click", () => { state.selected = o.id; loadDetail(); loadInbox(); });
    body.appendChild(tr);
  });
  if (!list.length) body.appendChild(row([el("td", LobbyQ.both("noOpinions", " · "), "muted")]));
  renderSummary(summary);
}
function renderSummary(summary) {
  const overdue = document.getElementById("overdue");
  overdue.textContent = "";
  summary.overdue.forEach((a) => {
    const li = el("li", a.text.zh + " · " + a.text.en, "bad");
    li.dataset.id = a.id;
    overdue.appendChild(li);
  });
  if (!summary.overdue.length) overdue.appendChild(el("li", LobbyQ.both("noneOverdue", " · "), "ok"));
  const head = document.getElementById("months-head");
  head.textContent = "";
  head.appendChild(row([el("th", LobbyQ.both("month"))].concat(summary.categories.map((c) => el("th", both(c.name))))
    .concat([el("th", LobbyQ.both("total")), el("th", LobbyQ.both("unanswered"))])));
  const months = document.getElementById("months");
  months.textContent = "";
  summary.months.forEach((m) => months.appendChild(row([m.month].concat(summary.categories.map((c) => m.by_category[c.code]))
    .concat([m.total, m.unanswered]))));
  document.getElementById("opinions-csv").href = API + "/opinions.csv";
}
async function loadDetail() {
  if (!state.selected) return;
  const o = await api("GET", "/opinions/" + state.selected);
  document.getElementById("detail-empty").hidden = true;
  document.getElementById("detail-body").hidden = false;
  document.getElementById("d-code").textContent = o.code + (o.ticket ? " · " + o.ticket : "") + (o.counter ? " · " + LobbyQ.fill(LobbyQ.t("counterNo", "zh"), {n: o.counter}) : "");
  document.getElementById("d-category").textContent = both(o.category_name) + (o.rating ? " · ★" + o.rating : "");
  document.getElementById("d-source").textContent = SOURCE[o.source] || o.source;
  document.getElementById("d-contact").textContent = o.contact || "—";
  document.getElementById("d-due").textContent = when(o.reply_due) + (o.overdue ? " ⚠ " + LobbyQ.both("overdue") : "");
  document.getElementById("d-status").textContent = STATUS[o.status];
  document.getElementById("d-text").textContent = o.text;
  document.getElementById("reply").value = o.reply || "";
  const history = document.getElementById("d-history");
  history.textContent = "";
  const verbs = {read: LobbyQ.both("verb_read"), reply: LobbyQ.both("verb_reply"), status: LobbyQ.both("verb_status")};
  o.history.forEach((h) => history.appendChild(el("li", when(h.at) + " " + h.username + " " + verbs[h.action] + " " + (h.detail || ""))));
}
document.querySelectorAll(".status-buttons button").forEach((b) => b.addEventListener("click", async () => {
  await api("PUT", "/opinions/" + state.selected + "/status", {status: b.dataset.status});
  loadDetail(); loadInbox();
}));
document.getElementById("reply-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const error = document.getElementById("reply-error");
  try {
    await api("POST", "/opinions/" + state.selected + "/reply", {text: document.getElementById("reply").value});
    error.hidden = true;
    loadDetail(); loadInbox();
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
  }
});

const dateInput = document.getElementById("cal-date");
dateInput.addEventListener("change", () => { state.day = dateInput.value; loadDay(); });
async function start() {
  await Promise.all([loadDay().catch((e) => { document.getElementById("cal-note").textContent = e.message; }), loadInbox()]);
  document.body.dataset.ready = "1";
}
start();
setInterval(loadInbox, 60000);
