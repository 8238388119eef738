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

  var pendingG = false;
  document.addEventListener("keydown", function (event) {
    // Ctrl/Cmd+Enter sends the composer or note the focus is in.
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      var form = event.target.closest && event.target.closest("form[data-ctrl-enter]");
      if (form) { event.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.submit(); }
      return;
    }
    if (event.key === "Escape") {
      var dialog = document.getElementById("shortcut-help");
      if (dialog && dialog.open) dialog.close();
      if (typing(event.target)) event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (pendingG) {
      pendingG = false;
      if (event.key === "q") { event.preventDefault(); click("queue"); }
      return;
    }
    switch (event.key) {
      case "j": event.preventDefault(); select(selected + 1); break;
      case "k": event.preventDefault(); select(selected - 1); break;
      case "o":
      case "Enter":
        var list = rows();
        if (selected >= 0 && list[selected]) { event.preventDefault(); window.location.href = list[selected].getAttribute("data-href"); }
        break;
      case "/": if (focusTarget("filter")) event.preventDefault(); break;
      case "r": if (focusTarget("reply")) event.preventDefault(); break;
      case "n": if (focusTarget("note")) event.preventDefault(); break;
      case "s": if (focusTarget("status")) event.preventDefault(); break;
      case "a": if (click("assign-me")) event.preventDefault(); break;
      case "g": pendingG = true; window.setTimeout(function () { pendingG = false; }, 1500); break;
      case "?":
        var help = document.getElementById("shortcut-help");
        if (help && help.showModal) { event.preventDefault(); help.showModal(); }
        break;
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
})();
