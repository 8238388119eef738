// Console-wide keyboard shortcuts (issue 15); strict CSP: a file, no inline handlers.
// "?" opens the shortcut sheet, "g" then a letter follows the navigation link marked with
// data-key (g h home, g q cases, ...), "/" focuses the page's search field (else opens the
// case search). Keys are ignored while typing in a field; Esc leaves the field or the sheet.
// Page scripts (cases/console.js) add their own keys and list them in the sheet.
(function () {
  "use strict";

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function openSheet() {
    var sheet = document.getElementById("shortcut-help");
    if (sheet && sheet.showModal && !sheet.open) { sheet.showModal(); return true; }
    return false;
  }

  function go(key) {
    var link = document.querySelector('nav a[data-key="' + key + '"]');
    if (link) { window.location.href = link.getAttribute("href"); return true; }
    return false;
  }

  function focusSearch() {
    var field = document.querySelector('[data-shortcut-target="search"]') ||
                document.querySelector('[data-shortcut-target="filter"]');
    if (field) { field.focus(); if (field.select) field.select(); return true; }
    var cases = document.querySelector('nav a[data-key="q"]');
    if (cases) { window.location.href = cases.getAttribute("href") + "#search"; return true; }
    return false;
  }

  var pendingG = false, timer = null;
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      var sheet = document.getElementById("shortcut-help");
      if (sheet && sheet.open) sheet.close();
      else if (typing(event.target)) event.target.blur();
      return;
    }
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey ||
        typing(event.target)) return;
    if (pendingG) {
      pendingG = false;
      window.clearTimeout(timer);
      if (/^[a-z]$/.test(event.key) && go(event.key)) event.preventDefault();
      return;
    }
    if (event.key === "g") { pendingG = true; timer = window.setTimeout(function () { pendingG = false; }, 1500); return; }
    if (event.key === "?" && openSheet()) { event.preventDefault(); return; }
    if (event.key === "/" && focusSearch()) { event.preventDefault(); }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-shortcut-sheet]")) openSheet();
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (window.location.hash === "#search") focusSearch();
  });
})();
