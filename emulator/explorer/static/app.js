// KV explorer: the select-all box and the expiration countdowns, which
// follow the emulator's clock (polled from /now), not the browser's.
"use strict";
(function () {
  var base = document.body.getAttribute("data-base") || "/";

  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input.select").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  }

  function remaining(ms) {
    if (ms <= 0) {
      return "expired";
    }
    var s = Math.round(ms / 1000);
    var d = Math.floor(s / 86400); s -= d * 86400;
    var h = Math.floor(s / 3600); s -= h * 3600;
    var m = Math.floor(s / 60); s -= m * 60;
    if (d > 0) { return d + "d " + h + "h " + m + "m"; }
    if (h > 0) { return h + "h " + m + "m " + s + "s"; }
    if (m > 0) { return m + "m " + s + "s"; }
    return s + "s";
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function show(now) {
    document.querySelectorAll(".countdown").forEach(function (el) {
      var left = Number(el.getAttribute("data-expires")) - now;
      el.textContent = remaining(left);
      el.classList.toggle("expired", left <= 0);
    });
    var clock = document.getElementById("clock");
    if (clock) {
      var t = new Date(now);
      clock.textContent = t.getUTCFullYear() + "-" + pad(t.getUTCMonth() + 1) + "-" + pad(t.getUTCDate()) +
        " " + pad(t.getUTCHours()) + ":" + pad(t.getUTCMinutes()) + ":" + pad(t.getUTCSeconds()) + " UTC";
    }
  }

  if (!document.getElementById("clock")) {
    return;
  }
  function tick() {
    fetch(base + "now", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) { if (j && typeof j.now === "number") { show(j.now); } })
      .catch(function () {})
      .then(function () { setTimeout(tick, 1000); });
  }
  tick();
})();
