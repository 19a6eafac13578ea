// Theme editor: colours and sizes show in the preview as you change them (before saving), and
// the preview can be switched between phone and desktop widths.
(function () {
  var frame = document.getElementById("preview-frame");
  var form = document.getElementById("theme-form");
  if (!frame || !form) return;

  function apply(input) {
    var name = input.dataset.cssVar;
    var doc = frame.contentDocument;
    if (!name || !doc) return;
    var value = input.value + (input.dataset.unit || "");
    doc.documentElement.style.setProperty(name, value);
    if (name === "--accent") doc.documentElement.style.setProperty("--accent-text", value);
  }

  form.addEventListener("input", function (event) {
    var input = event.target;
    if (input.type === "range") {
      var output = input.parentNode.querySelector("output");
      if (output) output.textContent = input.value + (input.dataset.unit || "");
    }
    if (input.type === "color") {
      var code = input.parentNode.querySelector("code");
      if (code) code.textContent = input.value;
    }
    apply(input);
  });

  document.querySelectorAll("[data-preview-width]").forEach(function (button) {
    button.addEventListener("click", function () {
      frame.style.width = button.dataset.previewWidth + "px";
    });
  });
})();
