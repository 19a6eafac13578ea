// The store's popup notice: shown once per browser. Closing it (its own button, a form with
// method="dialog", works without scripts) is remembered for that announcement only.
(function () {
  var popup = document.getElementById("shop-popup");
  if (!popup) return;
  var key = "kameng-popup-" + popup.dataset.announcement;
  try {
    if (window.localStorage.getItem(key)) { popup.removeAttribute("open"); return; }
  } catch (error) { /* storage refused: show it every time */ }
  popup.addEventListener("close", function () {
    try { window.localStorage.setItem(key, "1"); } catch (error) { /* nothing to remember */ }
  });
})();
