/* LobbyQ mobile ticket: live over /ws/tickets/{token}, polling as a fallback. */
(function () {
  "use strict";
  var BOOT = JSON.parse(document.getElementById("boot").textContent);
  var TOKEN = BOOT.token;
  var T = {
    zh: {
      yourNumber: "您的号码", peopleAhead: "前面等候", estimatedWait: "预计等候", pleaseGo: "请到",
      notifyMe: "叫号时提醒我", notifyOn: "✓ 叫号时会提醒您", cancelTicket: "取消排队",
      cancelSure: "确定不再排队了吗？号票取消后不能恢复。", cancelYes: "确定取消", cancelNo: "继续排队",
      rateTitle: "请为本次服务评价", commentLabel: "客户意见簿（选填）", send: "提交评价",
      thanks: "感谢您的评价！", needRating: "请先点选星级，或写下您的意见",
      waiting: "排队中，请留意叫号", called: "轮到您了！", serving: "正在为您办理",
      completed: "办理完成，感谢光临", cancelled: "号票已取消", no_show: "已过号，请咨询大堂工作人员",
      transferred: "已转到其他业务，请留意叫号",
      minutes: "分钟", noWait: "即将叫号", live: "实时更新中", offline: "连接中断，正在重连…",
      calledNote: "请到 {c} 办理", counterN: "{n}号窗口"
    },
    en: {
      yourNumber: "Your number", peopleAhead: "Ahead of you", estimatedWait: "Estimated wait", pleaseGo: "Please go to",
      notifyMe: "Notify me when called", notifyOn: "✓ You will be notified", cancelTicket: "Cancel my ticket",
      cancelSure: "Leave the queue? A cancelled ticket cannot be restored.", cancelYes: "Yes, cancel", cancelNo: "Keep my place",
      rateTitle: "How was our service?", commentLabel: "Comments (optional)", send: "Send",
      thanks: "Thank you for your feedback!", needRating: "Choose a rating or write a comment first",
      waiting: "Waiting — please listen for your number", called: "It is your turn", serving: "Being served",
      completed: "Done — thank you for visiting", cancelled: "Ticket cancelled", no_show: "Missed — please ask our staff",
      transferred: "Moved to another service, please wait",
      minutes: "min", noWait: "Very soon", live: "Live", offline: "Connection lost, reconnecting…",
      calledNote: "Please go to {c}", counterN: "Counter {n}"
    }
  };
  var lang = (navigator.language || "zh").toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
  var ticket = BOOT.ticket;
  var rating = 0;
  var live = false;
  var ws = null;
  var retry = 1000;

  function $(id) { return document.getElementById(id); }
  function t(k) { return T[lang][k] || T.zh[k] || k; }
  function nm(o) { return o ? (o[lang] || o.zh) : ""; }

  function counterText() {
    if (!ticket.counter) return "";
    return nm(ticket.counter_name) || t("counterN").replace("{n}", ticket.counter);
  }

  function render() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach(function (el) { el.textContent = t(el.getAttribute("data-i18n")); });
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

  function connect() {
    if (isFinished()) return;
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    try { ws = new WebSocket(proto + location.host + "/ws/tickets/" + encodeURIComponent(TOKEN)); }
    catch (e) { return later(); }
    ws.onopen = function () { live = true; retry = 1000; render(); };
    ws.onmessage = function (ev) {
      var msg; try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg.type === "ticket") update(msg.data);
    };
    ws.onclose = function () { live = false; ws = null; render(); later(); };
    ws.onerror = function () { try { ws.close(); } catch (e) {} };
  }

  function later() {
    if (isFinished()) return;
    setTimeout(function () { poll(); connect(); }, retry);
    retry = Math.min(retry * 2, 15000);
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
