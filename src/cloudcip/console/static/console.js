// Progressive enhancement of the console (no framework, no build step): keyboard navigation of the
// review queue, and live progress of re-screening runs. Every page works without it.
"use strict";
(function () {
  function queueKeys() {
    const rows = Array.from(document.querySelectorAll("[data-queue-row]"));
    if (!rows.length) return;
    let current = -1;
    function focus(i) {
      if (i < 0 || i >= rows.length) return;
      rows.forEach((r) => r.classList.remove("current"));
      current = i;
      rows[i].classList.add("current");
      rows[i].querySelector("[data-queue-link]").focus();
    }
    document.addEventListener("keydown", (event) => {
      const tag = (event.target.tagName || "").toLowerCase();
      if (["input", "textarea", "select"].includes(tag) || event.altKey || event.ctrlKey || event.metaKey) return;
      if (event.key === "j" || event.key === "ArrowDown") { focus(current + 1); event.preventDefault(); }
      else if (event.key === "k" || event.key === "ArrowUp") { focus(Math.max(current - 1, 0)); event.preventDefault(); }
      else if (event.key === "x" && current >= 0) { const box = rows[current].querySelector("input[type=checkbox]"); box.checked = !box.checked; }
      else if (event.key === "n") { const next = document.getElementById("next-item"); if (next) next.click(); }
    });
  }

  function rescreenProgress() {
    const table = document.getElementById("rescreen-runs");
    if (!table) return;
    async function refresh() {
      const response = await fetch(table.dataset.progressUrl, { credentials: "same-origin" });
      if (!response.ok) return;
      const data = await response.json();
      let running = false;
      for (const run of data.runs) {
        const row = table.querySelector(`[data-run="${run.id}"]`);
        if (!row) continue;
        const bar = row.querySelector("progress");
        bar.max = run.total || 1; bar.value = run.done;
        row.querySelector("[data-run-text]").textContent = `${run.done} / ${run.total}`;
        row.querySelector("[data-run-hits]").textContent = run.hits;
        row.querySelector("[data-run-finished]").textContent = run.finished_at || "running";
        if (!run.finished_at) running = true;
      }
      if (running) setTimeout(refresh, 2000);
    }
    if (table.querySelector("[data-run-finished]") && Array.from(table.querySelectorAll("[data-run-finished]")).some((c) => c.textContent === "running")) {
      setTimeout(refresh, 2000);
    }
  }

  document.addEventListener("DOMContentLoaded", () => { queueKeys(); rescreenProgress(); });
})();
