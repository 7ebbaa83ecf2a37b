/* The staffing plan panel and the live advice (GET /plan, /plan/advice; server/plan).
   Uses dashboard.js's helpers (el, getJSON, API, SERVICES). Text only via textContent. */
"use strict";

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];


async function refreshAdvice() {
  const list = document.getElementById("advice");
  let advice;
  try {
    advice = await getJSON(API + "/plan/advice");
  } catch (error) {
    list.replaceChildren(el("li", {class: "over"}, LobbyQ.both("adviceUnavailable", " · ") + " " + error.message));
    return;
  }
  const items = advice.messages.map((m) =>
    el("li", {class: m.kind === "open_more" ? "more" : "above", "data-kind": m.kind, "data-service": m.service},
      m.zh, el("span", {class: "en"}, m.en)));
  if (!items.length) {
    items.push(el("li", {class: "ok"}, LobbyQ.t("planOk", "zh"),
      el("span", {class: "en"}, LobbyQ.t("planOk", "en"))));
  }
  list.replaceChildren(...items);
  list.dataset.loaded = "1";
}

function pctCell(value, miss) {
  return el("td", {class: "num" + (miss ? " miss" : "")}, value === undefined ? "–" : value.toFixed(1) + "%");
}

async function refreshPlan() {
  const weekday = document.getElementById("plan-weekday").value;
  const weeks = document.getElementById("plan-weeks").value || "4";
  const note = document.getElementById("plan-note");
  note.textContent = LobbyQ.both("planning", " · ");
  let plan;
  try {
    plan = await getJSON(`${API}/plan?weekday=${encodeURIComponent(weekday)}&weeks=${encodeURIComponent(weeks)}`);
  } catch (error) {
    note.textContent = LobbyQ.both("planError", " · ") + " " + error.message;
    return;
  }
  const codes = Object.keys(plan.services);
  note.textContent = LobbyQ.fill(LobbyQ.both("planBasis", " · "), {n: plan.days.length, days: plan.days.join(", ") || "—"});
  const figures = document.getElementById("plan-figures");
  const head = el("tr", {}, el("th", {}, LobbyQ.both("predicted")),
    ...codes.map((c) => el("th", {class: "num"}, `${c} ${plan.services[c].zh}`)),
    el("th", {class: "num"}, LobbyQ.both("counterHours")), el("th", {}, LobbyQ.both("priorityOver")));
  const rows = [["current", LobbyQ.both("rotaCurrent")], ["suggested", LobbyQ.both("rotaSuggested")]].map(([key, label]) => {
    const f = plan[key];
    const late = f.priority_p90.filter((p) => p.customers >= 5 && p.wait_p90_s > p.target_s)
      .map((p) => `${p.priority} ${p.service} ${minutes(p.wait_p90_s)}`);
    return el("tr", {"data-rota": key}, el("td", {}, label),
      ...codes.map((c) => pctCell(f.within_target_pct[c], f.within_target_pct[c] < 100 * plan.share)),
      el("td", {class: "num"}, f.counter_hours), el("td", {}, late.join("; ") || "—"));
  });
  figures.replaceChildren(el("thead", {}, head), el("tbody", {}, ...rows));
  const slots = document.getElementById("plan-slots");
  const slotHead = el("tr", {}, el("th", {}, LobbyQ.both("slot")),
    ...codes.map((c) => el("th", {class: "num"}, `${c} ${LobbyQ.both("arrivalsPerHour")}`)),
    el("th", {class: "num"}, LobbyQ.both("openCounters")), el("th", {}, LobbyQ.both("rotaByCounter")));
  const slotRows = plan.slots.map((s) => el("tr", {},
    el("td", {}, s.slot),
    ...codes.map((c) => el("td", {class: "num"}, (s.arrivals_per_hour[c] || 0).toFixed(1))),
    el("td", {class: "num"}, s.counters),
    el("td", {class: "rota"}, Object.entries(s.rota).map(([n, sv]) => `${n}: ${sv.join("/")}`).join("  "))));
  slots.replaceChildren(el("thead", {}, slotHead), el("tbody", {}, ...slotRows));
  figures.dataset.loaded = "1";
}

function startPlan() {
  const select = document.getElementById("plan-weekday");
  // The branch's business day as the server saw it when the page was made.
  if (WEEKDAYS.includes(BOOT.weekday)) select.value = BOOT.weekday;
  document.getElementById("plan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    refreshPlan();
  });
  refreshAdvice();
  refreshPlan();
  setInterval(refreshAdvice, 60000);
}

startPlan();
