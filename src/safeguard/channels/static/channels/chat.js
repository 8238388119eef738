// Web chat, progressive enhancement only (strict CSP: no inline script, no eval).
// The page works without it: the form posts and the page reloads.
(function () {
  "use strict";
  function messages() { return document.getElementById("chat-messages"); }

  // Two polls can overlap (the timer and the one a post triggers): keep each message once.
  function dedupeAndScroll() {
    var list = messages();
    if (!list) return;
    var seen = {};
    Array.prototype.forEach.call(list.querySelectorAll("li[data-id]"), function (item) {
      var id = item.getAttribute("data-id");
      if (seen[id]) { item.remove(); } else { seen[id] = true; }
    });
    list.scrollTop = list.scrollHeight;
  }

  document.addEventListener("htmx:oobAfterSwap", dedupeAndScroll);
  document.addEventListener("htmx:afterSettle", dedupeAndScroll);
  document.addEventListener("DOMContentLoaded", dedupeAndScroll);

  function errorBox(form) { return form.querySelector("[data-chat-error]"); }

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target.closest && event.target.closest("[data-chat-form]");
    if (!form) return;
    var box = errorBox(form);
    if (event.detail.successful) {
      form.reset();
      if (box) { box.hidden = true; box.textContent = ""; }
      var input = form.querySelector("[data-chat-input]");
      if (input) input.focus();
    } else if (box) {
      var xhr = event.detail.xhr;
      box.textContent = (xhr && xhr.responseText) || "The message could not be sent; try again.";
      box.hidden = false;
    }
  });

  // Enter sends, Shift+Enter is a new line.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    var input = event.target.closest && event.target.closest("[data-chat-input]");
    if (!input || !input.value.trim()) return;
    event.preventDefault();
    var form = input.closest("form");
    if (form && form.requestSubmit) form.requestSubmit();
  });
})();
