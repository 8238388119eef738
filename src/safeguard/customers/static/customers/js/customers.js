// Customer panel: the countdown of a revealed value (progressive enhancement; the server
// shows the expiry time and htmx re-masks the panel when it passes). No inline script (CSP).
(function () {
  "use strict";
  function tick() {
    var nodes = document.querySelectorAll("[data-countdown]");
    for (var i = 0; i < nodes.length; i++) {
      var left = parseInt(nodes[i].getAttribute("data-countdown"), 10) - 1;
      if (isNaN(left) || left < 0) left = 0;
      nodes[i].setAttribute("data-countdown", String(left));
      nodes[i].textContent = left > 0 ? left + " s" : "expired";
      if (left === 0) {
        var value = nodes[i].closest("td") && nodes[i].closest("td").querySelector("[data-revealed]");
        if (value) value.textContent = "•••";
      }
    }
  }
  window.setInterval(tick, 1000);
})();
