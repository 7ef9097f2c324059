// Segments: each stored segment's count, and the editor's live count of the unsaved rules (nothing is stored).
(function () {
  "use strict";
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const rules = document.getElementById("segment-rules");
  const currency = document.querySelector("#segment-form input[name=currency]");
  const live = document.getElementById("live-count");
  let timer = null;
  let asked = 0;

  function problem(body) {
    const first = body && body.errors && body.errors[0];
    return first ? first.field + ": " + first.message : (body && body.detail) || "cannot count these rules";
  }

  async function countLive() {
    const mine = ++asked;
    let tree;
    try {
      tree = JSON.parse(rules.value);
    } catch (error) {
      live.textContent = "Not JSON yet: " + error.message;
      return;
    }
    live.textContent = "Counting…";
    const response = await fetch("/api/v1/segments/count", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      body: JSON.stringify({ rules: tree, currency: currency.value || "USD" }),
    });
    const body = await response.json();
    if (mine !== asked) return; // a later edit's answer wins
    live.textContent = response.ok ? body.customers.toLocaleString() + " customers match now" : problem(body);
  }

  rules.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(countLive, 400);
  });
  currency.addEventListener("change", countLive);
  countLive();

  document.querySelectorAll("[data-segment-count]").forEach(async function (cell) {
    const code = cell.getAttribute("data-segment-count");
    const response = await fetch("/api/v1/segments/" + encodeURIComponent(code) + "/count", { credentials: "same-origin" });
    cell.textContent = response.ok ? (await response.json()).customers.toLocaleString() : "—";
  });
})();
