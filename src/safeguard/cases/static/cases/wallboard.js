/* The wallboard's live updates (issue 15): an EventSource on the board's stream; each
 * "wallboard" event carries the figures as JSON. The server ends each response after a bounded
 * time and the browser reconnects by itself (the stream's "retry"). No inline script (CSP);
 * text only through textContent. */
(function () {
  "use strict";

  function duration(seconds) {
    if (seconds === null || seconds === undefined || seconds === "") { return "—"; }
    var s = Math.max(0, Math.round(Number(seconds)));
    if (s === 0) { return "—"; }
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    if (h) { return h + " h " + m + " min"; }
    if (m) { return m + " min " + r + " s"; }
    return r + " s";
  }

  function show(el, value) {
    var fmt = el.getAttribute("data-format");
    var text;
    if (fmt === "duration") { text = duration(value); }
    else if (fmt === "percent") { text = value === null ? "—" : Math.round(value * 100) + " %"; }
    else if (fmt === "seconds") { text = value === null ? "—" : Math.round(value) + " s"; }
    else { text = String(value) + (el.getAttribute("data-suffix") || ""); }
    el.textContent = text;
  }

  function queueRow(q) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-queue", q.slug);
    if (q.wait_alert) { tr.className = "wb-alert"; }
    var th = document.createElement("th");
    th.scope = "row";
    th.textContent = q.name;
    tr.appendChild(th);
    ["depth", "open", "longest_wait_seconds", "agents_available", "sla_at_risk",
     "sla_breached"].forEach(function (key) {
      var td = document.createElement("td");
      td.setAttribute("data-field", key);
      if (key === "longest_wait_seconds") { td.textContent = duration(q[key]); }
      else if (key === "agents_available") { td.textContent = q[key] + " / " + q.agents; }
      else { td.textContent = String(q[key]); }
      tr.appendChild(td);
    });
    return tr;
  }

  function apply(board, root) {
    root.querySelectorAll("[data-total]").forEach(function (el) {
      show(el, board.totals[el.getAttribute("data-total")]);
    });
    root.querySelectorAll("[data-kpi]").forEach(function (el) {
      show(el, board.kpi[el.getAttribute("data-kpi")]);
    });
    root.querySelectorAll("[data-alert]").forEach(function (el) {
      el.classList.toggle("wb-alert", Boolean(board.kpi[el.getAttribute("data-alert")]));
    });
    var body = document.getElementById("wb-queues");
    if (body) {
      while (body.firstChild) { body.removeChild(body.firstChild); }
      board.queues.forEach(function (q) { body.appendChild(queueRow(q)); });
    }
    var at = document.getElementById("wb-at");
    if (at) {
      at.setAttribute("datetime", board.at);
      at.textContent = board.at.substring(11, 19);
    }
    root.setAttribute("data-updated", board.at);
  }

  function start() {
    var root = document.getElementById("wallboard");
    var state = document.getElementById("wb-state");
    if (!root || !window.EventSource) { return; }
    root.querySelectorAll("[data-format=duration]").forEach(function (el) {
      show(el, el.textContent.trim());
    });
    var source = new EventSource(root.getAttribute("data-stream"));
    source.addEventListener("wallboard", function (event) {
      apply(JSON.parse(event.data), root);
      if (state) { state.textContent = "Live."; }
    });
    source.addEventListener("error", function () {
      if (state) { state.textContent = "Reconnecting…"; }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
