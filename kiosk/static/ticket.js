/* LobbyQ mobile ticket: live over /ws/tickets/{token}, polling as a fallback. */
(function () {
  "use strict";
  var BOOT = LobbyQ.data("boot");
  var TOKEN = BOOT.token;
  // Texts: server/web/catalogues/<lang>.json (ticket.*), through LobbyQ.t.
  var lang = (navigator.language || "zh").toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
  var ticket = BOOT.ticket;
  var rating = 0;
  var live = false;

  function $(id) { return document.getElementById(id); }
  var t = LobbyQ.t;
  var nm = LobbyQ.name;

  function counterText() {
    if (!ticket.counter) return "";
    return nm(ticket.counter_name) || t("counterN").replace("{n}", ticket.counter);
  }

  function render() {
    LobbyQ.setLang(lang);
    $("lang").textContent = lang === "zh" ? "English" : "中文";
    $("branch-name").textContent = nm(BOOT.branchName);
    $("card").setAttribute("data-status", ticket.status);
    $("number").textContent = ticket.number;
    $("service").textContent = nm(ticket.service_name) || ticket.service;
    $("status").textContent = t(ticket.status) || ticket.status;
    var called = ticket.status === "called" || ticket.status === "serving";
    $("called").hidden = !(called && ticket.counter);
    $("counter").textContent = counterText();
    var waiting = ticket.status === "waiting";
    $("facts").hidden = !waiting;
    $("position").textContent = ticket.position === null || ticket.position === undefined ? "—" : String(ticket.position);
    $("wait").textContent = !ticket.position ? t("noWait")
      : window.LobbyQWait.text(ticket.estimated_wait_range_s, ticket.estimated_wait_s, lang);
    $("waiting-actions").hidden = !waiting;
    var done = ticket.status === "completed";
    var rated = !!ticket.feedback;
    $("feedback").hidden = !(done && BOOT.ratings && !rated);
    $("thanks").hidden = !(done && rated);
    $("live").className = "live" + (live ? " on" : "");
    $("live").hidden = isFinished();
    $("live-text").textContent = live ? t("live") : (isFinished() ? "" : t("offline"));
    if (typeof Notification !== "undefined" && Notification.permission === "granted") $("notify").textContent = t("notifyOn");
    document.title = ticket.number + " · " + nm(BOOT.branchName);
  }

  function isFinished() { return ["completed", "cancelled"].indexOf(ticket.status) >= 0; }

  function update(next) {
    var before = ticket.status;
    ticket = Object.assign({}, ticket, next);
    if ((ticket.status === "called" && before !== "called") || (next.recalled)) alertCalled();
    render();
  }

  function alertCalled() {
    try { if (navigator.vibrate) navigator.vibrate([400, 150, 400, 150, 400]); } catch (e) {}
    try {
      if (typeof Notification !== "undefined" && Notification.permission === "granted") {
        new Notification(ticket.number + " · " + nm(BOOT.branchName), { body: t("calledNote").replace("{c}", counterText()), tag: "lobbyq-" + TOKEN });
      }
    } catch (e) {}
  }

  var stream = null;
  function connect() {
    // The kit's one client (server/web/static/live.js) on the ticket's own stream: no
    // seq there, so every {type: "ticket"} goes to onMessage; the same backoff as every page.
    if (isFinished()) return;
    stream = LobbyQ.live({
      path: "/ws/tickets/" + encodeURIComponent(TOKEN),
      resume: false,
      onMessage: function (msg) {
        if (msg.type === "ticket") update(msg.data);
        if (isFinished()) stream.close();
      },
      onStatus: function (connected) {
        live = connected;
        render();
        if (!connected && !isFinished()) poll();
      },
      onRefused: function () { return null; },  // 4404: no such ticket
    });
  }

  function poll() {
    return fetch("/api/v1/tickets/" + encodeURIComponent(TOKEN)).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { if (d) update(d); }).catch(function () {});
  }

  $("lang").addEventListener("click", function () { lang = lang === "zh" ? "en" : "zh"; render(); });
  $("notify").addEventListener("click", function () {
    if (typeof Notification === "undefined") { try { navigator.vibrate && navigator.vibrate(200); } catch (e) {} return; }
    Notification.requestPermission().then(render);
  });
  $("cancel").addEventListener("click", function () { $("confirm").hidden = false; $("cancel").hidden = true; });
  $("cancel-no").addEventListener("click", function () { $("confirm").hidden = true; $("cancel").hidden = false; });
  $("cancel-yes").addEventListener("click", function () {
    fetch("/api/v1/tickets/" + encodeURIComponent(TOKEN), { method: "DELETE" })
      .then(function (r) { return r.json(); }).then(function (d) { if (d && d.status) update(d); });
  });
  $("stars").addEventListener("click", function (ev) {
    var b = ev.target.closest("[data-rating]"); if (!b) return;
    rating = Number(b.getAttribute("data-rating"));
    $("feedback-error").hidden = true;
    document.querySelectorAll(".star").forEach(function (s) { s.classList.toggle("on", Number(s.getAttribute("data-rating")) <= rating); });
  });
  $("comment").addEventListener("input", function () { $("count").textContent = String($("comment").value.length); $("feedback-error").hidden = true; });
  $("feedback").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var comment = $("comment").value.trim();
    if (!rating && !comment) { $("feedback-error").textContent = t("needRating"); $("feedback-error").hidden = false; return; }
    var body = { comment: comment || null }; if (rating) body.rating = rating;
    fetch("/api/v1/tickets/" + encodeURIComponent(TOKEN) + "/feedback", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
    }).then(function (r) { return r.json().then(function (d) { return { ok: r.ok, d: d }; }); })
      .then(function (res) {
        if (res.ok || (res.d.error && res.d.error.code === "already_rated")) {
          update({ feedback: true });
        } else {
          $("feedback-error").textContent = (res.d.error && res.d.error.message) || "error"; $("feedback-error").hidden = false;
        }
      });
  });

  render();
  connect();
  setInterval(function () { if (!live && !isFinished()) poll(); }, 20000);
})();
