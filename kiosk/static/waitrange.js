/* The promised wait as a range, as the kiosk, the mobile ticket page and the lobby
   tablet show it: "约 5–9 分钟" / "about 5–9 min" (whole minutes outward: the low end
   down, the high end up). The same words as the printed ticket (printers/layout.py
   format_wait_range), from the catalogues' `wait` part: a page that loads this script
   lists "wait" among its i18n parts. A ticket without a range shows its point estimate. */
(function () {
  "use strict";
  function text(range, point, lang) {
    var t = function (key) { return window.LobbyQ.t(key, lang); };
    var fill = window.LobbyQ.fill;
    if (range && range.length === 2) {
      var lowS = range[0], highS = range[1];
      if (highS < 60) return t("rangeUnder");
      var low = Math.floor(lowS / 60), high = Math.max(1, Math.ceil(highS / 60));
      if (low === 0) return fill(t("rangeUpTo"), { high: high });
      if (low >= high) return fill(t("rangeOne"), { min: high });
      return fill(t("rangeAbout"), { low: low, high: high });
    }
    if (point === null || point === undefined) return "—";
    return fill(t("rangeOne"), { min: Math.max(1, Math.round(point / 60)) });
  }
  window.LobbyQWait = { text: text };
})();
