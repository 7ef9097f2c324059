// An import's progress, live: the server sends `progress` (status, rows done of total, rate, time left) as the
// import moves and `done` when it is no longer busy; the page then reloads to show the result (diff, errors,
// actions). Without EventSource the page is left as it is (the <noscript> refresh covers no JavaScript at all).
(function () {
  "use strict";
  const box = document.getElementById("progress");
  if (!box || !window.EventSource) return;
  const bar = document.getElementById("progress-bar");
  const status = document.getElementById("status");
  function text(id, value) { document.getElementById(id).textContent = value; }
  const source = new EventSource(box.dataset.stream);
  source.addEventListener("progress", function (event) {
    const p = JSON.parse(event.data);
    status.textContent = p.status;
    bar.max = p.total_rows || 1;
    bar.value = p.rows_done;
    text("rows-done", p.rows_done);
    text("rows-total", p.status === "applying" ? " of " + p.total_rows : "");
    text("rate", p.rows_per_s ? " · " + p.rows_per_s + " rows/s" : "");
    text("eta", p.eta_s !== null && p.eta_s !== undefined ? " · about " + Math.round(p.eta_s) + " s left" : "");
  });
  source.addEventListener("done", function () {
    source.close();
    window.location.reload();
  });
})();
