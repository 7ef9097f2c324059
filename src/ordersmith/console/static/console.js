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
