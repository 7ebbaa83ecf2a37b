/* The promised wait as a range, as the kiosk, the mobile ticket page and the lobby
   tablet show it: "约 5–9 分钟" / "about 5–9 min" (whole minutes outward: the low end
   down, the high end up). The same words as the printed ticket (printers/layout.py
   format_wait_range). A ticket without a range shows its point estimate. */
(function () {
  "use strict";
  var WORDS = {
    zh: { under: "不到 1 分钟", upTo: function (h) { return h + " 分钟以内"; },
          about: function (l, h) { return "约 " + l + "–" + h + " 分钟"; },
          one: function (m) { return "约 " + m + " 分钟"; } },
    en: { under: "< 1 min", upTo: function (h) { return "up to " + h + " min"; },
          about: function (l, h) { return "about " + l + "–" + h + " min"; },
          one: function (m) { return "about " + m + " min"; } }
  };
  function text(range, point, lang) {
    var w = WORDS[lang] || WORDS.zh;
    if (range && range.length === 2) {
      var lowS = range[0], highS = range[1];
      if (highS < 60) return w.under;
      var low = Math.floor(lowS / 60), high = Math.max(1, Math.ceil(highS / 60));
      if (low === 0) return w.upTo(high);
      if (low >= high) return w.one(high);
      return w.about(low, high);
    }
    if (point === null || point === undefined) return "—";
    return w.one(Math.max(1, Math.round(point / 60)));
  }
  window.LobbyQWait = { text: text };
})();
