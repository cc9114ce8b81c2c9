// Prepared export files: poll each unfinished job's status and update its row in place.
(function () {
  "use strict";
  const rows = Array.from(document.querySelectorAll("tr[data-job-status-url]"));
  function unfinished(row) {
    return row.dataset.status === "queued" || row.dataset.status === "running";
  }
  function refresh(row) {
    fetch(row.dataset.jobStatusUrl, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (!job) return;
        row.dataset.status = job.status;
        row.querySelector(".job-status").textContent =
          job.status_label + (job.error ? ": " + job.error : "");
        const bar = row.querySelector("progress");
        bar.max = Math.max(job.total_rows, 1);
        bar.value = job.rows_written;
        row.querySelector(".job-rows").textContent =
          job.rows_written.toLocaleString() + " of " + job.total_rows.toLocaleString();
        if (job.status === "done") window.location.reload();
      })
      .catch(function () { /* the next tick tries again */ });
  }
  if (!rows.some(unfinished)) return;
  const timer = setInterval(function () {
    const waiting = rows.filter(unfinished);
    if (!waiting.length) { clearInterval(timer); return; }
    waiting.forEach(refresh);
  }, 2000);
})();
