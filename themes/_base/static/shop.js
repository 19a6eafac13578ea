// Copy buttons for delivered card keys.
document.addEventListener("click", function (event) {
  var button = event.target.closest("button.copy");
  if (!button || !navigator.clipboard) return;
  navigator.clipboard.writeText(button.dataset.copy).then(function () {
    var label = button.textContent;
    button.textContent = "✓";
    setTimeout(function () { button.textContent = label; }, 1200);
  });
});
