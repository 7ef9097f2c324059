// Every page: the global search box. "/" focuses it from anywhere; results come while typing; arrow keys move
// through them, Enter opens one, Escape closes. Without JavaScript the box is a plain form to /search.
(function () {
  "use strict";
  const box = document.getElementById("search-box");
  const panel = document.getElementById("search-results");
  if (!box || !panel) return;
  let timer = null;
  let asked = 0;

  function options() { return Array.from(panel.querySelectorAll("a[role=option]")); }

  function close() { panel.hidden = true; box.setAttribute("aria-expanded", "false"); }

  async function lookup() {
    const q = box.value.trim();
    if (q.length < 2) { close(); return; }
    const ticket = ++asked;
    const response = await fetch("/search/results?q=" + encodeURIComponent(q), { credentials: "same-origin" });
    if (ticket !== asked || !response.ok) return;  // a newer keystroke already asked
    panel.innerHTML = await response.text();
    panel.hidden = false;
    box.setAttribute("aria-expanded", "true");
  }

  box.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(lookup, 120); });
  box.addEventListener("keydown", function (e) {
    const list = options();
    const at = list.findIndex(function (a) { return a.getAttribute("aria-selected") === "true"; });
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!list.length) return;
      const next = e.key === "ArrowDown" ? Math.min(at + 1, list.length - 1) : Math.max(at - 1, 0);
      list.forEach(function (a, i) { a.setAttribute("aria-selected", i === next ? "true" : "false"); });
    } else if (e.key === "Enter" && at >= 0) {
      e.preventDefault();
      window.location.href = list[at].href;
    } else if (e.key === "Escape") {
      close();
    }
  });
  document.addEventListener("keydown", function (e) {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
    if (e.key === "/" && !typing) { e.preventDefault(); box.focus(); box.select(); }
  });
  document.addEventListener("click", function (e) { if (!panel.contains(e.target) && e.target !== box) close(); });
})();

// Sortable tables: a click (or Enter) on a heading marked data-sort orders this page's rows by that column.
(function () {
  document.querySelectorAll("table.sortable").forEach(function (table) {
    const heads = Array.from(table.querySelectorAll("thead th"));
    heads.forEach(function (th, index) {
      const kind = th.getAttribute("data-sort");
      if (!kind) return;
      th.tabIndex = 0;
      th.setAttribute("aria-sort", "none");
      th.classList.add("sort-head");
      function sort() {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (other) { if (other.hasAttribute("data-sort")) other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const body = table.tBodies[0];
        const rows = Array.from(body.rows).filter(function (r) { return r.cells.length === heads.length; });
        function key(row) {
          const cell = row.cells[index];
          const raw = cell.getAttribute("data-value") || cell.textContent.trim();
          return kind === "number" ? parseFloat(raw) || 0 : raw.toLowerCase();
        }
        rows.sort(function (a, b) {
          const x = key(a), y = key(b);
          return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
    });
  });
})();
