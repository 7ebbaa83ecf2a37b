/* LobbyQ web kit: what every page's script starts from. Plain JS, no library.
 *
 *   LobbyQ.data("boot")      the page's data blob (<script type="application/json" id="boot">)
 *   LobbyQ.t("welcome")      a text of the page's catalogue parts in the current language
 *   LobbyQ.t("welcome", "en") ... in that language
 *   LobbyQ.setLang("en")     switch language; every [data-i18n="key"] element is re-filled
 *   LobbyQ.lang              "zh" or "en"
 *   LobbyQ.name({zh, en})    the value for the current language (Chinese when missing)
 *   LobbyQ.both("key", sep)  "中文 English": a text in both languages at once (the device and
 *                            staff pages); `sep` between them (default " ")
 *   LobbyQ.fill(text, {n: 3}) the text with each {n} replaced by its value
 *   LobbyQ.api(method, url, body, token)
 *                            fetch JSON (same-origin cookies, no cache; `token`: a bearer
 *                            token): a promise of {ok, status, data} (data {} if not JSON)
 *
 * The catalogue comes from server/web/catalogues/<lang>.json through the page's
 * `lobbyq-i18n` blob (kit/base.html); the page never carries its own table.
 */
(function () {
  "use strict";
  var LobbyQ = window.LobbyQ = window.LobbyQ || {};

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  var catalogue = data("lobbyq-i18n") || { zh: {}, en: {} };

  LobbyQ.data = data;
  LobbyQ.lang = "zh";
  LobbyQ.catalogue = catalogue;

  LobbyQ.t = function (key, lang) {
    var table = catalogue[lang || LobbyQ.lang] || {};
    if (key in table) return table[key];
    var zh = catalogue.zh || {};
    return key in zh ? zh[key] : key;
  };

  LobbyQ.both = function (key, sep) {
    var zh = (catalogue.zh || {})[key], en = (catalogue.en || {})[key];
    if (zh === undefined) return key;
    return en ? zh + (sep === undefined ? " " : sep) + en : zh;
  };

  LobbyQ.fill = function (text, values) {
    return text.replace(/\{([A-Za-z_]+)\}/g, function (whole, name) {
      return name in values ? String(values[name]) : whole;
    });
  };

  LobbyQ.name = function (obj) {
    return obj ? (obj[LobbyQ.lang] || obj.zh || "") : "";
  };

  LobbyQ.api = function (method, url, body, token) {
    var headers = {};
    if (token) headers.Authorization = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: method, headers: headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  };

  LobbyQ.setLang = function (lang, root) {
    LobbyQ.lang = lang in catalogue ? lang : "zh";
    document.documentElement.lang = LobbyQ.lang === "zh" ? "zh-CN" : LobbyQ.lang;
    (root || document).querySelectorAll("[data-i18n]").forEach(function (el) {
      var key = el.getAttribute("data-i18n");
      if (key in (catalogue[LobbyQ.lang] || {}) || key in (catalogue.zh || {})) el.textContent = LobbyQ.t(key);
    });
    return LobbyQ.lang;
  };
})();
