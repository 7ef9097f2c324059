// The till's tenders (pos.js installs them): cash with the change due, a card typed into a form that posts
// straight to the vault (only its token comes back, shown as "Visa ····4242"; charged when the sale is completed),
// a gift card or store credit by its code. Each adds a tender to the sale; the sale completes once nothing is due.
(function () {
  "use strict";
  const $ = function (id) { return document.getElementById(id); };
  const minor = window.OrdersmithKeep.minor, amount = window.OrdersmithKeep.amount;

  function install(till) {
    // --- tenders -------------------------------------------------------------------------------------------------------
    for (const b of document.querySelectorAll(".tender-buttons button")) {
      b.addEventListener("click", function () {
        for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== b.dataset.panel;
        const left = Math.max(till.due(), 0);
        if (b.dataset.panel === "card-panel") $("card-amount").value = amount(left);
        if (b.dataset.panel === "gift-panel") $("gift-amount").value = amount(left);
        const first = $(b.dataset.panel).querySelector("input");
        if (first) first.focus();
      });
    }
    $("cash-received").addEventListener("input", till.updateChange);
    for (const q of document.querySelectorAll("[data-quick]")) {
      q.addEventListener("click", function () {
        $("cash-received").value = q.dataset.quick === "exact" ? amount(Math.max(till.due(), 0)) : q.dataset.quick + ".00";
        till.updateChange();
      });
    }
    $("cash-panel").addEventListener("submit", function (e) {
      e.preventDefault();
      const received = minor($("cash-received").value);
      if (received === null || received <= 0) { $("cash-received").setCustomValidity("an amount, e.g. 20.00"); $("cash-received").reportValidity(); return; }
      $("cash-received").setCustomValidity("");
      till.state.tenders = till.state.tenders.filter(function (t) { return t.method !== "cash"; });
      const left = till.due();
      till.state.tenders.push({ method: "cash", label: "Cash", received: received, change: Math.max(received - left, 0) });
      $("cash-received").value = "";
      $("cash-panel").hidden = true;
      till.renderTotals();
      $("complete").focus();
    });
    const BRANDS = { amex: "Amex", mastercard: "Mastercard", jcb: "JCB", unionpay: "UnionPay" };
    $("card-panel").addEventListener("submit", async function (e) {
      e.preventDefault();
      const result = $("card-result");
      const cents = minor($("card-amount").value);
      if (!till.isOnline()) { result.textContent = "A card needs the network."; return; }
      if (cents === null || cents <= 0 || cents > till.due()) { result.textContent = "An amount up to " + amount(till.due()); return; }
      const answer = await till.api("POST", "/vault/v1/cards", {
        number: $("card-number").value, exp_month: parseInt($("card-month").value, 10), exp_year: parseInt($("card-year").value, 10),
        cvc: $("card-cvc").value,
      });
      $("card-number").value = ""; $("card-cvc").value = "";
      if (!answer.ok) { result.textContent = "Card refused: " + till.problem(answer); return; }
      const label = (BRANDS[answer.data.brand] || answer.data.brand.charAt(0).toUpperCase() + answer.data.brand.slice(1)) + " ····" + answer.data.last_four;
      till.state.tenders.push({ method: "card", label: label, amount: cents, token: answer.data.token });
      till.state.cardSale = null;
      result.textContent = label + " ready: it is charged when the sale is completed";
      $("card-panel").hidden = true;
      till.renderTotals();
    });
    $("gift-panel").addEventListener("submit", function (e) {
      e.preventDefault();
      const cents = minor($("gift-amount").value);
      const giftCode = $("gift-code").value.trim();
      if (!giftCode || cents === null || cents <= 0 || cents > till.due()) { $("gift-result").textContent = "A code and an amount up to " + amount(till.due()); return; }
      const credit = $("gift-credit").checked;
      till.state.tenders.push({ method: credit ? "store_credit" : "gift_card", label: (credit ? "Store credit …" : "Gift card …") + giftCode.slice(-4),
                           amount: cents, token: giftCode });
      $("gift-code").value = ""; $("gift-result").textContent = till.isOnline() ? "" : "Offline: the card is redeemed when the sale is sent";
      $("gift-panel").hidden = true;
      till.renderTotals();
    });
    $("gift-balance").addEventListener("click", async function () {
      const giftCode = $("gift-code").value.trim();
      const answer = await till.api("GET", "/api/v1/gift-cards/" + encodeURIComponent(giftCode) + "/balance");
      $("gift-result").textContent = answer.ok ? "Balance " + answer.data.balance.amount + " (" + answer.data.status + ")" : till.problem(answer);
    });
  }

  window.OrdersmithTenders = { install: install };
})();
