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

// Waiting pages (unpaid, paying by QR, being fulfilled) poll the order's status and move on
// when it changes. The return from a gateway never marks anything paid: only its callback does.
(function () {
  var box = document.querySelector("[data-poll]");
  if (!box || !window.fetch) return;
  var initial = box.dataset.orderStatus, delay = 2000;
  function poll() {
    fetch(box.dataset.poll, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data && data.status !== initial) {
          window.location.href = box.dataset.done || window.location.href;
          return;
        }
        delay = Math.min(delay * 1.2, 10000);
        setTimeout(poll, delay);
      })
      .catch(function () { setTimeout(poll, 10000); });
  }
  setTimeout(poll, delay);
})();
