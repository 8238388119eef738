// What-if sliders of the cost model page: show each slider's value beside it while it moves.
// Progressive enhancement only: the form submits with GET and the server recomputes.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input[type=range][data-output]").forEach(function (slider) {
    var out = document.getElementById(slider.getAttribute("data-output"));
    if (!out) { return; }
    slider.addEventListener("input", function () { out.textContent = slider.value; });
  });
});
