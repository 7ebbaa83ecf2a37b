/* LobbyQ dashboard: the hall's devices (online, offline, alerts after 2 minutes), the
   TVs' rate board and bulletin, the slides, and the staff photos. Uses dashboard.js's
   BOOT, API, el() and headers(). All text is set with textContent. */
"use strict";

const HALL = {devices: null, staff: [], slides: []};

async function hallSend(method, url, body, isForm) {
  const options = {method, headers: headers(), credentials: "same-origin"};
  if (body !== undefined) {
    if (isForm) options.body = body;
    else { options.headers["Content-Type"] = "application/json"; options.body = JSON.stringify(body); }
  }
  const response = await fetch(url, options);
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
  return data;
}

function status(id, text, bad) {
  const node = document.getElementById(id);
  node.textContent = text;
  node.className = "muted small" + (bad ? " bad" : "");
}

// --- devices ------------------------------------------------------------------------------
function since(iso) {
  if (!iso) return LobbyQ.both("neverConnected");
  return localTime(Date.parse(iso), false);
}

async function refreshDevices() {
  try { HALL.devices = await getJSON(API + "/devices"); } catch (e) { return; }
  const body = document.getElementById("devices");
  body.replaceChildren();
  for (const d of HALL.devices.devices) {
    const state = d.online ? el("span", {class: "dev-on"}, LobbyQ.both("online"))
      : d.last_connected_at ? el("span", {class: "dev-off"}, LobbyQ.both("offline") + " " + minutes(d.offline_s))
      : el("span", {class: "dev-never"}, LobbyQ.both("notSeen"));
    body.append(el("tr", {"data-device": d.device},
      el("td", {}, d.name.zh, el("span", {class: "en"}, " " + d.name.en)), el("td", {}, state),
      el("td", {}, since(d.last_connected_at))));
  }
  const list = document.getElementById("device-alerts");
  list.replaceChildren(...HALL.devices.alerts.map((a) =>
    el("li", {class: "device", "data-device": a.device}, a.zh, el("span", {class: "en"}, a.en))));
}

// --- boards -------------------------------------------------------------------------------
function csvLine(cells) {
  return cells.map((c) => (/[",\n]/.test(c) ? '"' + c.replace(/"/g, '""') + '"' : c)).join(",");
}
function parseCsv(text) {
  const rows = [];
  let row = [], cell = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") { row.push(cell.trim()); cell = ""; }
    else if (ch === "\n") { row.push(cell.trim()); rows.push(row); row = []; cell = ""; }
    else if (ch !== "\r") cell += ch;
  }
  if (cell.trim() || row.length) { row.push(cell.trim()); rows.push(row); }
  return rows.filter((r) => r.some((c) => c));
}
function pairOf(text) {
  const [zh, en] = text.split(/\s*[|/]\s*/, 2);
  return {zh: (zh || "").trim(), en: (en || zh || "").trim()};
}

function showRates(board) {
  document.getElementById("rates-title-zh").value = (board.title && board.title.zh) || "";
  document.getElementById("rates-title-en").value = (board.title && board.title.en) || "";
  const lines = [];
  if ((board.columns || []).length) lines.push(csvLine(board.columns.map((c) => c.zh === c.en ? c.zh : c.zh + "/" + c.en)));
  for (const row of board.rows || []) lines.push(csvLine(row));
  document.getElementById("rates-csv").value = lines.join("\n");
  const note = board.note;
  document.getElementById("rates-note").value = note ? (note.zh === note.en ? note.zh : note.zh + " / " + note.en) : "";
}
function showBulletin(board) {
  document.getElementById("bulletin-text").value = (board.items || [])
    .map((i) => (i.en && i.en !== i.zh ? i.zh + " | " + i.en : i.zh)).join("\n");
}

async function loadBoards() {
  try {
    showRates(await getJSON(API + "/boards/rates"));
    showBulletin(await getJSON(API + "/boards/bulletin"));
  } catch (e) { console.warn("boards", e); }
}

document.getElementById("rates-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const rows = parseCsv(document.getElementById("rates-csv").value);
  const body = {
    title: {zh: document.getElementById("rates-title-zh").value.trim(), en: document.getElementById("rates-title-en").value.trim()},
    columns: (rows[0] || []).map(pairOf),
    rows: rows.slice(1),
  };
  const note = document.getElementById("rates-note").value.trim();
  if (note) body.note = pairOf(note);
  try {
    showRates(await hallSend("PUT", API + "/boards/rates", body));
    status("rates-status", LobbyQ.both("ratesSaved", " · "));
  } catch (e) { status("rates-status", e.message, true); }
});
document.getElementById("rates-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  try {
    showRates(await hallSend("POST", API + "/boards/rates/csv", form, true));
    status("rates-status", LobbyQ.both("imported", " · ") + " " + file.name);
  } catch (e) { status("rates-status", e.message, true); }
  event.target.value = "";
});
document.getElementById("bulletin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const items = document.getElementById("bulletin-text").value.split("\n").map((l) => l.trim()).filter(Boolean)
    .map((line) => { const [zh, en] = line.split(/\s*\|\s*/, 2); return {zh, en: en || ""}; });
  try {
    showBulletin(await hallSend("PUT", API + "/boards/bulletin", {items}));
    status("bulletin-status", LobbyQ.both("saved", " · "));
  } catch (e) { status("bulletin-status", e.message, true); }
});

// --- slides and staff photos ---------------------------------------------------------------
async function loadSlides() {
  try { HALL.slides = await getJSON(API + "/slides"); } catch (e) { return; }
  const box = document.getElementById("slides");
  box.replaceChildren(...HALL.slides.map((s) => {
    const remove = el("button", {type: "button", "data-slide": s.id}, LobbyQ.both("delete"));
    remove.addEventListener("click", async () => {
      try { await hallSend("DELETE", API + "/slides/" + s.id); status("slides-status", LobbyQ.both("deleted", " · ")); }
      catch (e) { status("slides-status", e.message, true); }
      loadSlides();
    });
    return el("figure", {}, el("img", {src: s.url, alt: ""}), el("figcaption", {}, `${s.width}×${s.height}`), remove);
  }));
}
document.getElementById("slide-file").addEventListener("change", async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file);
  try { await hallSend("POST", API + "/slides", form, true); status("slides-status", LobbyQ.both("uploaded", " · ") + " " + file.name); }
  catch (e) { status("slides-status", e.message, true); }
  event.target.value = "";
  loadSlides();
});

async function loadStaff() {
  try { HALL.staff = await getJSON(API + "/staff"); } catch (e) { return; }
  const box = document.getElementById("staff");
  box.replaceChildren(...HALL.staff.filter((u) => u.role !== "admin").map((u) => {
    const input = el("input", {type: "file", accept: "image/png,image/jpeg,image/webp", hidden: ""});
    input.addEventListener("change", async () => {
      const file = input.files[0];
      if (!file) return;
      const form = new FormData();
      form.append("file", file);
      try { await hallSend("PUT", "/api/v1/users/" + encodeURIComponent(u.username) + "/photo", form, true); }
      catch (e) { status("slides-status", u.username + ": " + e.message, true); }
      loadStaff();
    });
    const picture = u.photo_url ? el("img", {src: u.photo_url, alt: ""}) : el("span", {class: "no-photo"}, Array.from(u.display_name)[0] || "?");
    return el("figure", {"data-user": u.username}, picture,
      el("figcaption", {}, u.display_name + (u.staff_no ? " · " + u.staff_no : "")),
      el("label", {class: "button"}, LobbyQ.both("uploadPhoto"), input));
  }));
}

refreshDevices();
setInterval(refreshDevices, 15000);
loadBoards();
loadSlides();
loadStaff();
