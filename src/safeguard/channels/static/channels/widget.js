// Safeguard chat widget (issue 15): one line on any page of an allowed origin,
//   <script src="https://support.example.com/chat/widget.js" data-label="Chat with us" async></script>
// adds a "Chat" button that opens the chat in a frame served by Safeguard (the chat's own page:
// the host page's script cannot read it). No inline script or style, no eval: styles are set
// through the CSSOM, which a strict CSP on the host page allows. A page whose origin is not in
// SAFEGUARD_CHAT_WIDGET_ORIGINS gets the chat in a new tab instead (our page refuses framing).
(function () {
  "use strict";
  var CONFIG = /*SAFEGUARD_CONFIG*/{"origins": [], "open": true, "closed_label": "Leave us a message"}/*END*/;
  var script = document.currentScript;
  if (!script || window.safeguardChatLoaded) return;
  window.safeguardChatLoaded = true;
  var base = new URL(script.src, window.location.href).origin;
  var framed = CONFIG.origins.indexOf(window.location.origin) >= 0;
  var label = script.getAttribute("data-label") || "Chat with us";
  if (!CONFIG.open) label = CONFIG.closed_label;
  var side = script.getAttribute("data-position") === "left" ? "left" : "right";
  var url = base + "/chat/" + (framed ? "?embed=1" : "");

  function css(el, rules) { for (var k in rules) { if (Object.prototype.hasOwnProperty.call(rules, k)) el.style[k] = rules[k]; } }

  var button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.setAttribute("data-safeguard-chat", "launcher");
  button.setAttribute("aria-expanded", "false");
  css(button, {position: "fixed", bottom: "16px", zIndex: "2147483000", padding: "12px 18px",
               border: "0", borderRadius: "24px", background: "#1f4e79", color: "#fff",
               font: "600 15px/1.2 system-ui, sans-serif", cursor: "pointer",
               boxShadow: "0 2px 8px rgba(0,0,0,.25)"});
  button.style[side] = "16px";

  var panel = null;
  function close() {
    if (!panel) return;
    panel.hidden = true;
    button.setAttribute("aria-expanded", "false");
    button.focus();
  }
  function open() {
    if (!panel) {
      panel = document.createElement("div");
      panel.setAttribute("data-safeguard-chat", "panel");
      panel.setAttribute("role", "dialog");
      panel.setAttribute("aria-label", "Chat");
      css(panel, {position: "fixed", bottom: "72px", zIndex: "2147483000", width: "min(380px, calc(100vw - 32px))",
                  height: "min(560px, calc(100vh - 96px))", background: "#fff", borderRadius: "12px",
                  boxShadow: "0 4px 24px rgba(0,0,0,.3)", overflow: "hidden"});
      panel.style[side] = "16px";
      var frame = document.createElement("iframe");
      frame.src = url;
      frame.title = "Chat with us";
      frame.setAttribute("data-safeguard-chat", "frame");
      css(frame, {border: "0", width: "100%", height: "100%"});
      panel.appendChild(frame);
      document.body.appendChild(panel);
    }
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    var f = panel.querySelector("iframe");
    if (f) f.focus();
  }
  button.addEventListener("click", function () {
    if (!framed) { window.open(url, "_blank", "noopener"); return; }
    if (panel && !panel.hidden) close(); else open();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && panel && !panel.hidden) close();
  });

  function mount() { document.body.appendChild(button); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
