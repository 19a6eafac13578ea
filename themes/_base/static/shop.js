// Copy buttons for delivered card keys. The Clipboard API needs a secure context; in-app
// browsers and plain-http previews get the older select-and-copy instead.
function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  return new Promise(function (resolve, reject) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (error) { copied = false; }
    document.body.removeChild(area);
    if (copied) { resolve(); } else { reject(new Error("copy refused")); }
  });
}

document.addEventListener("click", function (event) {
  var button = event.target.closest("button.copy[data-copy]");
  if (!button) return;
  copyText(button.dataset.copy).then(function () {
    var label = button.textContent;
    button.textContent = "✓";
    button.setAttribute("aria-live", "polite");
    setTimeout(function () { button.textContent = label; }, 1200);
  }, function () { /* nothing copied: the key stays visible to copy by hand */ });
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
