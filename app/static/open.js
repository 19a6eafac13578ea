// Live availability check of the store address on /open.
(function () {
  var input = document.getElementById("slug");
  var status = document.getElementById("slug-status");
  if (!input || !status) return;
  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    var slug = input.value.trim().toLowerCase();
    if (!slug) { status.textContent = ""; return; }
    timer = setTimeout(function () {
      fetch(input.dataset.checkUrl + "?slug=" + encodeURIComponent(slug), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (data) {
          if (data.slug !== input.value.trim().toLowerCase()) return;
          status.textContent = data.message;
          status.className = "slug-status " + (data.available ? "ok" : "bad");
        })
        .catch(function () { status.textContent = ""; });
    }, 250);
  });
})();
