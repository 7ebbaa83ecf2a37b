/* LobbyQ customer pages on a phone: book a visit, see or cancel it, leave an opinion,
   follow it. Data comes from the #boot JSON blob (LobbyQ.data) and the API; every text a person
   typed is put in the page with textContent, never as HTML. */
(function () {
  "use strict";
  var BOOT = LobbyQ.data("boot");
  var API = "/api/v1";
  // Texts: server/web/catalogues/<lang>.json (customer.*), through LobbyQ.t.
  var lang = BOOT.lang === "en" ? "en" : "zh";

  function $(id) { return document.getElementById(id); }
  function t(k) { LobbyQ.lang = lang; return LobbyQ.t(k); }
  function fill(text, vars) {
    return String(text).replace(/\{(\w+)\}/g, function (_, k) { return vars[k] !== undefined ? vars[k] : ""; });
  }
  function nm(o) { return o ? (o[lang] || o.zh) : ""; }
  function hhmm(iso) { return iso.slice(11, 16); }
  function dayLabel(iso) {
    var d = new Date(iso.slice(0, 10) + "T12:00:00Z");
    return (d.getUTCMonth() + 1) + "/" + d.getUTCDate() + " " + t("weekdays").split(",")[d.getUTCDay()];
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  // The server says "中文。English.": show the reader's half.
  function errorText(body, fallback) {
    var m = (body && body.error && body.error.message) || fallback;
    var cut = m.indexOf("。");
    if (cut < 0 || cut === m.length - 1) return m;
    return lang === "zh" ? m.slice(0, cut + 1) : m.slice(cut + 1).trim();
  }
  function call(method, path, body) {
    return LobbyQ.api(method, API + path, body || undefined);
  }
  function showError(id, text) { var e = $(id); e.textContent = text; e.hidden = !text; }

  var rerender = function () {};
  function translate() {
    LobbyQ.setLang(lang);  // fills every [data-i18n]
    $("lang").textContent = lang === "zh" ? "English" : "中文";
    if (BOOT.branchName) $("branch-name").textContent = nm(BOOT.branchName);
    rerender();
  }
  $("lang").addEventListener("click", function () { lang = lang === "zh" ? "en" : "zh"; translate(); });

  function radio(container, items, selected, onPick, build) {
    container.textContent = "";
    items.forEach(function (item) {
      var b = build(item);
      b.type = "button";
      b.setAttribute("role", "radio");
      b.setAttribute("aria-checked", String(item.key === selected));
      b.addEventListener("click", function () { onPick(item.key); });
      container.appendChild(b);
    });
  }

  // -- the booking card (confirmation and manage page) ------------------------------------
  function renderBooking(b) {
    $("booking-card").setAttribute("data-status", b.status);
    $("b-status").textContent = t("st_" + b.status);
    $("b-code").textContent = b.code;
    $("b-qr").src = b.qr_url;
    $("b-qr").alt = b.qr_text;
    $("b-service").textContent = nm(b.service_name) || b.service;
    $("b-when").textContent = b.at.slice(0, 10) + " " + dayLabel(b.at).split(" ")[1] + " " + hhmm(b.at) + "–" + hhmm(b.ends_at);
    $("b-name").textContent = b.name;
    $("b-phone").textContent = b.phone;
    var at = new Date(b.at);
    var from = new Date(at.getTime() - b.early_min * 60000);
    var until = new Date(at.getTime() + b.late_min * 60000);
    function local(d) { // the branch's clock: shift by the offset written in b.at
      var offset = b.at.slice(19);
      var sign = offset[0] === "-" ? -1 : 1;
      var mins = sign * (parseInt(offset.slice(1, 3), 10) * 60 + parseInt(offset.slice(4, 6), 10));
      var s = new Date(d.getTime() + mins * 60000).toISOString();
      return s.slice(11, 16);
    }
    $("b-window").textContent = fill(t("windowText"), { a: local(from), b: local(until) });
    $("b-window").hidden = b.status !== "booked";
    $("b-ics").href = b.ics_url;
    $("b-ics").setAttribute("download", "booking-" + b.code + ".ics");
    $("b-manage").href = b.manage_url;
  }

  // -- /book/{b} ---------------------------------------------------------------------------
  function bookPage() {
    var state = { service: BOOT.services.length === 1 ? BOOT.services[0].code : null, day: BOOT.days[0] || null,
                  slot: null, slots: null, made: null };
    function loadSlots() {
      state.slots = null;
      state.slot = null;
      render();
      if (!state.service || !state.day) return;
      var asked = state.service + state.day;
      call("GET", "/branches/" + BOOT.branch + "/booking/slots?service=" + encodeURIComponent(state.service) +
           "&date=" + state.day).then(function (res) {
        if (asked !== state.service + state.day) return;
        state.slots = res.ok ? res.data : [];
        render();
      }).catch(function () { state.slots = []; render(); });
    }
    function render() {
      radio($("services"), BOOT.services.map(function (s) { return { key: s.code, s: s }; }), state.service,
        function (k) { state.service = k; loadSlots(); },
        function (i) { var b = el("button", "choice", nm(i.s.name)); b.setAttribute("data-code", i.key); return b; });
      radio($("days"), BOOT.days.map(function (d) { return { key: d }; }), state.day,
        function (k) { state.day = k; loadSlots(); },
        function (i) {
          var b = el("button", "day");
          var top = i.key === BOOT.today ? t("today") : dayLabel(i.key).split(" ")[1];
          b.appendChild(el("span", "", top));
          b.appendChild(el("small", "", dayLabel(i.key).split(" ")[0]));
          b.setAttribute("data-day", i.key);
          return b;
        });
      var note = $("slots-note");
      if (!state.service || !state.day) { note.textContent = t("pickFirst"); note.hidden = false; $("slots").textContent = ""; }
      else if (state.slots === null) { note.textContent = t("loading"); note.hidden = false; }
      else {
        note.hidden = state.slots.length > 0;
        note.textContent = t("noSlots");
        radio($("slots"), state.slots.map(function (s) { return { key: s.at, s: s }; }), state.slot,
          function (k) { state.slot = k; render(); },
          function (i) {
            var b = el("button", "slot");
            b.appendChild(el("span", "", hhmm(i.key)));
            b.appendChild(el("small", "", i.s.remaining > 0 ? fill(t("left"), { n: i.s.remaining }) : t("full")));
            b.disabled = i.s.remaining <= 0;
            b.setAttribute("data-at", i.key);
            return b;
          });
      }
      var service = BOOT.services.filter(function (s) { return s.code === state.service; })[0];
      $("chosen").hidden = !(service && state.slot);
      if (service && state.slot) {
        $("chosen").textContent = fill(t("chosenText"), { s: nm(service.name), d: dayLabel(state.slot), t: hhmm(state.slot) });
      }
      if (state.made) renderBooking(state.made);
    }
    rerender = render;
    $("form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var name = $("name").value.trim();
      var phone = $("phone").value.trim();
      var missing = !state.service ? "needService" : !state.slot ? "needSlot" : !name ? "needName" :
        phone.replace(/\D/g, "").length < 11 ? "needPhone" : "";
      if (missing) { showError("form-error", t(missing)); return; }
      showError("form-error", "");
      $("submit").disabled = true;
      call("POST", "/branches/" + BOOT.branch + "/bookings",
           { service: state.service, at: state.slot, name: name, phone: phone, lang: lang })
        .then(function (res) {
          $("submit").disabled = false;
          if (!res.ok) {
            showError("form-error", errorText(res.data, t("network")));
            if (res.status === 409) loadSlots();
            return;
          }
          state.made = res.data;
          $("step-form").hidden = true;
          $("step-done").hidden = false;
          render();
          window.scrollTo(0, 0);
        })
        .catch(function () { $("submit").disabled = false; showError("form-error", t("network")); });
    });
    render();
    loadSlots();
  }

  // -- /booking/{token} --------------------------------------------------------------------
  function bookingPage() {
    var booking = BOOT.booking;
    function render() {
      renderBooking(booking);
      $("b-manage").hidden = true;
      $("cancel-area").hidden = !booking.can_cancel;
    }
    rerender = render;
    $("cancel").addEventListener("click", function () { $("confirm").hidden = false; $("cancel").hidden = true; });
    $("cancel-no").addEventListener("click", function () { $("confirm").hidden = true; $("cancel").hidden = false; });
    $("cancel-yes").addEventListener("click", function () {
      call("DELETE", "/bookings/" + encodeURIComponent(BOOT.token)).then(function (res) {
        if (!res.ok) { showError("cancel-error", errorText(res.data, t("network"))); return; }
        booking = res.data;
        render();
      }).catch(function () { showError("cancel-error", t("network")); });
    });
    render();
  }

  // -- /suggest/{b} ------------------------------------------------------------------------
  function suggestPage() {
    var state = { category: null };
    function render() {
      radio($("categories"), BOOT.categories.map(function (c) { return { key: c.code, c: c }; }), state.category,
        function (k) { state.category = k; render(); },
        function (i) { var b = el("button", "choice", nm(i.c.name)); b.setAttribute("data-code", i.key); return b; });
      $("count").textContent = String($("text").value.length);
      if (BOOT.back) { $("back").href = BOOT.back; $("back").hidden = false; }
    }
    rerender = render;
    $("text").addEventListener("input", function () { $("count").textContent = String($("text").value.length); });
    $("form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = $("text").value.trim();
      var missing = !state.category ? "needCategory" : !text ? "needText" : "";
      if (missing) { showError("form-error", t(missing)); return; }
      showError("form-error", "");
      var body = { category: state.category, text: text, contact: $("contact").value.trim(), source: BOOT.source };
      if (BOOT.ticket) body.ticket_token = BOOT.ticket;
      $("submit").disabled = true;
      call("POST", "/branches/" + BOOT.branch + "/opinions", body).then(function (res) {
        $("submit").disabled = false;
        if (!res.ok) { showError("form-error", errorText(res.data, t("network"))); return; }
        $("form").hidden = true;
        $("sent").hidden = false;
        $("o-code").textContent = res.data.code;
        $("o-follow").href = res.data.follow_url;
        if (BOOT.source === "kiosk") { // a kiosk visitor takes the link away on their phone
          $("o-qr").src = res.data.follow_url + "/qr.svg";
          $("o-qr").hidden = false;
        }
      }).catch(function () { $("submit").disabled = false; showError("form-error", t("network")); });
    });
    if (BOOT.source === "kiosk" && BOOT.back) { // the kiosk goes home by itself when left alone
      var idle = null;
      var arm = function () { clearTimeout(idle); idle = setTimeout(function () { location.href = BOOT.back; }, 90000); };
      ["click", "keydown", "touchstart"].forEach(function (e) { document.addEventListener(e, arm, { passive: true }); });
      arm();
    }
    render();
  }

  // -- /opinion/{token} --------------------------------------------------------------------
  function opinionPage() {
    var o = BOOT.opinion;
    function render() {
      $("opinion-card").setAttribute("data-status", o.status);
      $("o-status").textContent = nm(o.status_name);
      $("o-code").textContent = o.code;
      $("o-category").textContent = nm(o.category_name);
      $("o-created").textContent = o.created_at.slice(0, 16).replace("T", " ");
      $("o-text").textContent = o.text;
      $("o-reply").textContent = o.reply || t("noReply");
      $("o-reply").classList.toggle("muted", !o.reply);
      $("o-replied").textContent = o.replied_at ? fill(t("repliedAt"), { t: o.replied_at.slice(0, 16).replace("T", " ") }) : "";
    }
    rerender = render;
    render();
  }

  var pages = { book: bookPage, booking: bookingPage, suggest: suggestPage, opinion: opinionPage };
  pages[BOOT.page]();
  translate();
}());
