// Order export page: poll the progress endpoint until the file is ready (no library).
(function () {
  var box = document.getElementById("export");
  if (["queued", "running"].indexOf(box.dataset.status) < 0) return;
  function poll() {
    fetch(box.dataset.progressUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (s) {
      var bar = document.getElementById("export-progress");
      bar.max = s.rows_total || 1; bar.value = s.rows_done;
      document.getElementById("export-count").textContent = s.rows_done + " / " + s.rows_total;
      if (s.download_url) {
        document.getElementById("export-link").href = s.download_url;
        document.getElementById("export-ready").hidden = false;
      } else if (s.status === "failed") {
        document.getElementById("export-failed").hidden = false;
      } else {
        setTimeout(poll, 1500);
      }
    }).catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
