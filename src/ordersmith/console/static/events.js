// The live event feed: follows /api/v1/events (server-sent events) with the console session cookie.
(function () {
  "use strict";
  const table = document.querySelector("#feed tbody");
  const status = document.getElementById("feed-status");
  const typeInput = document.getElementById("feed-type");
  const MAX_ROWS = 500;
  let source = null;

  function addRow(frame) {
    const event = JSON.parse(frame.data);
    const row = document.createElement("tr");
    row.className = "event";
    row.dataset.type = event.type;
    row.dataset.id = event.id;
    for (const text of [new Date(event.occurred_at).toLocaleTimeString(), event.type, JSON.stringify(event.data)]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.appendChild(cell);
    }
    table.insertBefore(row, table.firstChild);
    while (table.rows.length > MAX_ROWS) table.deleteRow(-1);
  }

  function connect() {
    if (source) source.close();
    const type = typeInput.value.trim();
    const url = "/api/v1/events" + (type ? "?type=" + encodeURIComponent(type) : "");
    source = new EventSource(url);
    source.onopen = function () { status.textContent = "live"; status.className = "status live"; };
    source.onerror = function () { status.textContent = "reconnecting…"; status.className = "status"; };
    source.onmessage = addRow;
  }

  document.getElementById("feed-filter").addEventListener("submit", function (e) {
    e.preventDefault();
    connect();
  });
  connect();
})();
