// Agent console: keyboard shortcuts and small enhancements (strict CSP: no inline handlers).
// Shortcuts are ignored while typing in a field, except Ctrl/Cmd+Enter to send and Esc.
(function () {
  "use strict";

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-keyboard-list] tbody tr[data-href]"));
  }

  var selected = -1;
  function select(index) {
    var list = rows();
    if (!list.length) return;
    selected = Math.max(0, Math.min(list.length - 1, index));
    list.forEach(function (row, i) {
      row.classList.toggle("selected", i === selected);
      row.setAttribute("aria-selected", i === selected ? "true" : "false");
    });
    var link = list[selected].querySelector("a");
    if (link) link.focus();
  }

  function focusTarget(name) {
    var el = document.querySelector('[data-shortcut-target="' + name + '"]');
    if (el) { el.focus(); return true; }
    return false;
  }

  function click(name) {
    var el = document.querySelector('[data-shortcut="' + name + '"]');
    if (el) { el.click(); return true; }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    // Ctrl/Cmd+Enter sends the composer or note the focus is in.
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      var form = event.target.closest && event.target.closest("form[data-ctrl-enter]");
      if (form) { event.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.submit(); }
      return;
    }
    // "?", "g", "/" and Esc are the console-wide keys of web/js/shortcuts.js.
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var sheet = document.getElementById("shortcut-help");
    if (sheet && sheet.open) return;
    switch (event.key) {
      case "j": event.preventDefault(); select(selected + 1); break;
      case "k": event.preventDefault(); select(selected - 1); break;
      case "o":
      case "Enter":
        var list = rows();
        if (selected >= 0 && list[selected]) { event.preventDefault(); window.location.href = list[selected].getAttribute("data-href"); }
        break;
      case "r": if (focusTarget("reply")) event.preventDefault(); break;
      case "n": if (focusTarget("note")) event.preventDefault(); break;
      case "m": if (focusTarget("macro")) event.preventDefault(); break;
      case "s": if (focusTarget("status")) event.preventDefault(); break;
      case "a": if (click("assign-me")) event.preventDefault(); break;
      default: break;
    }
  });

  // Rows are clickable as a whole (the number link stays the accessible target).
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("tr[data-href]");
    if (row && !event.target.closest("a, button, input, select, textarea")) {
      window.location.href = row.getAttribute("data-href");
    }
  });

  // After HTMX swaps the queue table, keep the selection in range.
  document.addEventListener("htmx:afterSwap", function () { selected = -1; });

  // Collision detection (issue 15): the presence form reports "viewing" on a timer (HTMX);
  // typing in the composer turns it to "replying" and reports at once (at most every 2 s), so
  // other agents on the case see it and the customer's chat shows that an agent is typing.
  var presenceForm = null, lastNow = 0;
  function presenceField(name) { return presenceForm && presenceForm.querySelector("[data-presence-" + name + "]"); }
  function reportNow() {
    var now = Date.now();
    if (!presenceForm || now - lastNow < 2000) return;
    lastNow = now;
    presenceForm.dispatchEvent(new Event("presence-now"));
  }
  document.addEventListener("DOMContentLoaded", function () {
    presenceForm = document.querySelector("form[data-presence]");
    if (!presenceForm) return;
    var composer = document.querySelector("form[data-composer]");
    if (composer) {
      composer.addEventListener("input", function () {
        var text = composer.querySelector("textarea");
        var replying = !!(text && text.value.trim());
        presenceField("state").value = replying ? "replying" : "viewing";
        presenceField("typed").value = replying ? "1" : "0";
        reportNow();
      });
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (presenceForm && event.target === presenceForm) presenceField("typed").value = "0";
  });
  // A macro swaps the composer's textarea in: the composer is being written.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "composer-text" && presenceForm) {
      presenceField("state").value = "replying";
    }
  });
})();
