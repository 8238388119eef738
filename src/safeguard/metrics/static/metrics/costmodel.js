// What-if sliders of the cost model page: show each slider's value beside it while it moves.
// Progressive enhancement only: the form submits with GET and the server recomputes.
// One listener on the document, attached as soon as the script runs, so a slider moved while
// the page was still loading is followed too; a slider already moved by then is shown at once.
(function () {
  function show(slider) {
    var out = document.getElementById(slider.getAttribute("data-output"));
    if (out) { out.textContent = slider.value; }
  }
  document.addEventListener("input", function (event) {
    var el = event.target;
    if (el && el.matches && el.matches("input[type=range][data-output]")) { show(el); }
  });
  function sync() {
    document.querySelectorAll("input[type=range][data-output]").forEach(function (slider) {
      if (slider.value !== slider.defaultValue) { show(slider); }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", sync);
  } else {
    sync();
  }
})();
