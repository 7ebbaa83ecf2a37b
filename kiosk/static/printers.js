/* Printers page: states and a preview of the ticket layout (managers). */
(function () {
  "use strict";
  var BOOT = LobbyQ.data("boot");
  var API = "/api/v1/branches/" + encodeURIComponent(BOOT.branch) + "/printers";
  var STATE = { ok: LobbyQ.both("state_ok"), busy: LobbyQ.both("state_busy"), paper_low: LobbyQ.both("state_paper_low"),
    paper_out: LobbyQ.both("state_paper_out"), offline: LobbyQ.both("state_offline"), error: LobbyQ.both("state_error"),
    unknown: LobbyQ.both("state_unknown") };
  var previews = {}; // the layout does not change between refreshes: draw it once

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function load() {
    fetch(API, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 401 || r.status === 403) { document.getElementById("login").hidden = false; return null; }
      return r.json();
    }).then(function (rows) { if (rows) render(rows); });
  }

  function render(rows) {
    document.getElementById("login").hidden = true;
    var list = document.getElementById("list");
    list.textContent = "";
    rows.forEach(function (p) {
      var box = el("section", undefined, "printer");
      box.setAttribute("data-state", p.state);
      box.setAttribute("data-printer", p.id);
      box.appendChild(el("h2", p.id + " · " + (STATE[p.state] || p.state)));
      var dl = el("dl");
      [[LobbyQ.both("driver"), p.driver], [LobbyQ.both("paper"), p.paper], [LobbyQ.both("error"), p.error || "—"],
       [LobbyQ.both("lastJob"), p.last_job_at ? (p.last_job_ok ? "✓ " : "✗ ") + new Date(p.last_job_at).toLocaleString() : "—"],
       [LobbyQ.both("queue"), String(p.queue_length)]].forEach(function (kv) {
        dl.appendChild(el("dt", kv[0]));
        dl.appendChild(el("dd", kv[1]));
      });
      box.appendChild(dl);
      if (!previews[p.id]) {
        previews[p.id] = el("img", undefined, "preview");
        previews[p.id].alt = "preview";
        previews[p.id].src = API + "/" + encodeURIComponent(p.id) + "/preview.png";
      }
      box.appendChild(previews[p.id]);
      list.appendChild(box);
    });
  }

  document.getElementById("login").addEventListener("submit", function (ev) {
    ev.preventDefault();
    fetch("/api/v1/auth/login", {
      method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: document.getElementById("username").value, password: document.getElementById("password").value })
    }).then(function (r) { return r.json().then(function (d) { return { ok: r.ok, d: d }; }); })
      .then(function (res) {
        var err = document.getElementById("login-error");
        if (!res.ok) { err.textContent = (res.d.error && res.d.error.message) || "error"; err.hidden = false; return; }
        err.hidden = true;
        load();
      });
  });
  document.getElementById("refresh").addEventListener("click", load);
  load();
  setInterval(load, 15000);
})();
