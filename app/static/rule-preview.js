// Live preview of a markup rule: as the owner types, show what the affected SKUs would cost.
(function () {
  function money(cents) { return "¥" + (cents / 100).toFixed(2); }
  document.querySelectorAll("form.rule-form").forEach(function (form) {
    var out = form.querySelector(".rule-preview");
    var timer = null;
    function update() {
      clearTimeout(timer);
      var value = form.elements.value.value.trim();
      if (!value) { out.textContent = ""; return; }
      timer = setTimeout(function () {
        var params = new URLSearchParams({
          scope: form.elements.scope.value, target_id: form.elements.target_id.value,
          kind: form.elements.kind.value, value: value, rounding: form.elements.rounding.value
        });
        fetch(form.dataset.previewUrl + "?" + params, {credentials: "same-origin"})
          .then(function (r) { return r.json(); })
          .then(function (data) {
            if (data.error) { out.textContent = data.error; out.className = "rule-preview bad"; return; }
            var lines = data.lines.slice(0, 3).map(function (l) {
              return l.name + " " + money(l.wholesale_cents) + " → " + money(l.retail_cents) + (l.below_wholesale ? " ⚠" : "");
            });
            out.textContent = lines.join(" · ") + (data.count > 3 ? " …(" + data.count + ")" : "");
            out.className = "rule-preview " + (data.ok ? "ok" : "bad");
          })
          .catch(function () { out.textContent = ""; });
      }, 250);
    }
    ["input", "change"].forEach(function (e) { form.addEventListener(e, update); });
  });
})();
