/* LobbyQ lobby TV: what the display's `layout` puts beside the queue: the rate board,
 * the bulletin and the slides, rotating every `slide_seconds`; and a new call taking
 * the whole screen while it is announced (CALL_MS), then the layout returns. Follows
 * the page's one WebSocket through display.js's "lobbyq:event".
 * Test hook: window.lobbyqInfo = {state}. */
(function () {
  "use strict";

  var cfg = LobbyQ.data("lobbyq-config");
  var layout = cfg.layout || "queue";
  var CALL_MS = 9000;
  var CALL_MAX_AGE_MS = 60000;
  var withBoard = layout.indexOf("board") >= 0;
  var withSlides = layout.indexOf("slides") >= 0;
  var state = { rates: null, bulletin: null, slides: [], pages: [], page: -1, calling: false, rotations: 0 };
  var $ = function (id) { return document.getElementById(id); };
  var callTimer = null;

  function get(url) {
    var headers = cfg.token ? { Authorization: "Bearer " + cfg.token } : {};
    return fetch(url, { credentials: "same-origin", cache: "no-store", headers: headers })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderRates() {
    var board = state.rates;
    if (!board) return;
    $("rates-title-zh").textContent = (board.title && board.title.zh) || "";
    $("rates-title-en").textContent = (board.title && board.title.en) || "";
    var head = el("tr");
    (board.columns || []).forEach(function (c) {
      var th = el("th", "", c.zh);
      th.append(el("span", "en", c.en));
      head.append(th);
    });
    $("rates-head").replaceChildren(head);
    $("rates-body").replaceChildren.apply($("rates-body"), (board.rows || []).map(function (row) {
      var tr = el("tr");
      row.forEach(function (cell) { tr.append(el("td", "", cell)); });
      return tr;
    }));
    var note = board.note;
    $("rates-note").textContent = note ? (note.zh || "") + (note.en ? " · " + note.en : "") : "";
  }

  function renderBulletin() {
    var items = (state.bulletin && state.bulletin.items) || [];
    $("bulletin-list").replaceChildren.apply($("bulletin-list"), items.map(function (item) {
      var li = el("li", "", item.zh);
      if (item.en) li.append(el("span", "en", item.en));
      return li;
    }));
  }

  function buildPages() {
    var pages = [];
    if (withBoard && state.rates && (state.rates.rows || []).length) pages.push({ kind: "rates" });
    if (withBoard && state.bulletin && (state.bulletin.items || []).length) pages.push({ kind: "bulletin" });
    if (withSlides) state.slides.forEach(function (s) { pages.push({ kind: "slide", url: s.url }); });
    state.pages = pages;
    if (state.page >= pages.length) state.page = -1;
    if (state.page < 0) next(); else showPage();
  }

  function showPage() {
    var page = state.pages[state.page];
    $("info").hidden = !page;
    $("info-rates").hidden = !page || page.kind !== "rates";
    $("info-bulletin").hidden = !page || page.kind !== "bulletin";
    $("info-slide").hidden = !page || page.kind !== "slide";
    if (page && page.kind === "slide" && $("slide-img").getAttribute("src") !== page.url) $("slide-img").src = page.url;
  }

  function next() {
    if (!state.pages.length) { state.page = -1; showPage(); return; }
    state.page = (state.page + 1) % state.pages.length;
    state.rotations += 1;
    showPage();
  }

  function onCall(message) {
    // A call replayed after a long drop is not announced again; until the first ping
    // tells the server's clock, a call is taken as live.
    var offset = window.lobbyq ? window.lobbyq.serverOffsetMs : null;
    var age = Date.now() + (offset || 0) - Date.parse(message.at || "");
    if (offset !== null && offset !== undefined && age > CALL_MAX_AGE_MS) return;
    state.calling = true;
    document.body.classList.add("calling");
    clearTimeout(callTimer);
    callTimer = setTimeout(function () {
      state.calling = false;
      document.body.classList.remove("calling");
    }, CALL_MS);
  }

  if (layout === "queue") return;

  document.addEventListener("lobbyq:event", function (event) {
    var message = event.detail || {};
    var data = message.data || {};
    if (message.type === "ticket.called" || message.type === "ticket.recalled") onCall(message);
    else if (message.type === "board.updated") {
      if (data.board === "rates") { state.rates = data.content; renderRates(); }
      if (data.board === "bulletin") { state.bulletin = data.content; renderBulletin(); }
      buildPages();
    } else if (message.type === "slides.updated") {
      state.slides = data.slides || [];
      buildPages();
    }
  });

  function loadAll() {
    var reads = [];
    if (withBoard) {
      reads.push(get(cfg.boards + "/rates").then(function (b) { if (b) { state.rates = b; renderRates(); } }));
      reads.push(get(cfg.boards + "/bulletin").then(function (b) { if (b) { state.bulletin = b; renderBulletin(); } }));
    }
    if (withSlides) reads.push(get(cfg.slides).then(function (s) { if (s) state.slides = s; }));
    return Promise.all(reads).then(buildPages);
  }

  window.lobbyqInfo = { state: state, next: next };
  setInterval(next, Math.max(3, cfg.slide_seconds || 10) * 1000);
  setInterval(loadAll, 10 * 60000); // heals anything missed while the socket was down
  loadAll();
})();
