// Batch page: poll the progress endpoint while the batch is queued or topping up, then reload
// once it is finished, so the rows show their outcome (no library).
(function () {
  var box = document.getElementById("batch");
  if (!box || ["queued", "processing"].indexOf(box.dataset.status) < 0) return;
  function show(id, value) {
    var element = document.getElementById(id);
    if (element) element.textContent = value;
  }
  function poll() {
    fetch(box.dataset.progressUrl, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (s) {
      var bar = document.getElementById("batch-progress");
      if (bar) { bar.max = s.rows || 1; bar.value = s.done; }
      show("batch-count", s.done + " / " + s.rows);
      show("batch-succeeded", s.succeeded + s.partial);
      show("batch-failed", s.failed);
      show("batch-pending", s.pending);
      if (s.status !== box.dataset.status) {
        window.location.reload();
      } else {
        setTimeout(poll, 1500);
      }
    }).catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
