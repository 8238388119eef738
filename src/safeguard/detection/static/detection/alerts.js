// Alert queue: keyboard shortcuts (strict CSP: a file, no inline handlers).
// j/k move, x ticks the selected alert, a acknowledges the ticked ones, o/Enter opens,
// / jumps to the filters, ? shows the help. Ignored while typing in a field.
(function () {
  "use strict";

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-alert-list] tbody tr[data-href]"));
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

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      var dialog = document.getElementById("alert-shortcuts");
      if (dialog && dialog.open) dialog.close();
      if (typing(event.target)) event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var list = rows();
    switch (event.key) {
      case "j": event.preventDefault(); select(selected + 1); break;
      case "k": event.preventDefault(); select(selected - 1); break;
      case "x":
        if (selected >= 0 && list[selected]) {
          var box = list[selected].querySelector("input[type=checkbox]");
          if (box) { event.preventDefault(); box.checked = !box.checked; }
        }
        break;
      case "a":
        var button = document.querySelector("[data-shortcut='acknowledge']");
        if (button) { event.preventDefault(); button.click(); }
        break;
      case "o":
      case "Enter":
        if (selected >= 0 && list[selected]) {
          event.preventDefault();
          window.location.href = list[selected].getAttribute("data-href");
        }
        break;
      case "/":
        var filter = document.querySelector("[data-shortcut-target='filter']");
        if (filter) { event.preventDefault(); filter.focus(); }
        break;
      case "?":
        var help = document.getElementById("alert-shortcuts");
        if (help && help.showModal) { event.preventDefault(); help.showModal(); }
        break;
      default: break;
    }
  });

  // A click anywhere on a row opens the alert (the number link stays the accessible target).
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("[data-alert-list] tr[data-href]");
    if (row && !event.target.closest("a, button, input, label, select, textarea")) {
      window.location.href = row.getAttribute("data-href");
    }
  });
})();
