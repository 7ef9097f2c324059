// Phone order entry: customer look-up, item look-up with availability and personalization fields, the live
// quote, the vault's card form (the number goes to /vault/v1/cards and never into the order form), gift-card
// balance. Everything is reachable by keyboard: Tab through the form, Enter on a customer to choose it, Alt+P places.
(function () {
  "use strict";
  const form = document.getElementById("phone-order");
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const channel = document.getElementById("channel");
  let quoteTimer = null;

  function debounce(fn, ms) { let t = null; return function () { clearTimeout(t); const a = arguments; t = setTimeout(function () { fn.apply(null, a); }, ms); }; }
  function text(el, value) { el.textContent = value; }
  function division() { return channel.selectedOptions[0] ? channel.selectedOptions[0].dataset.division : ""; }
  async function api(method, url, body) {
    const response = await fetch(url, {
      method: method, credentials: "same-origin",
      headers: Object.assign({ "X-CSRF-Token": csrf }, body ? { "Content-Type": "application/json" } : {}),
      body: body ? JSON.stringify(body) : undefined,
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    return { ok: response.ok, status: response.status, data: data };
  }

  // --- the customer --------------------------------------------------------------------------------------------
  const find = document.getElementById("customer-find");
  const matches = document.getElementById("customer-matches");
  const chosen = document.getElementById("customer-chosen");
  find.addEventListener("input", debounce(async function () {
    const q = find.value.trim();
    matches.replaceChildren();
    if (q.length < 2) return;
    const response = await fetch("/search/results?q=" + encodeURIComponent(q), { credentials: "same-origin" });
    const holder = document.createElement("div");
    holder.innerHTML = await response.text();
    for (const link of holder.querySelectorAll("a[href^='/customers/']")) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "choice";
      button.setAttribute("role", "option");
      button.textContent = link.textContent.trim();
      button.dataset.number = link.getAttribute("href").split("/").pop();
      button.addEventListener("click", function () {
        document.getElementById("customer").value = button.dataset.number;
        text(chosen, "Customer: " + button.textContent);
        matches.replaceChildren();
        scheduleQuote();
      });
      matches.appendChild(button);
    }
  }, 150));

  // --- lines ---------------------------------------------------------------------------------------------------
  const suggestions = document.getElementById("item-suggestions");
  for (const line of document.querySelectorAll("fieldset.line")) {
    const n = line.dataset.index;
    const sku = line.querySelector(".line-sku");
    const facts = line.querySelector(".line-facts");
    const extras = line.querySelector(".line-personalization");
    sku.addEventListener("input", debounce(async function () {
      if (sku.value.trim().length < 2) return;
      const found = await api("GET", "/phone-order/items?q=" + encodeURIComponent(sku.value.trim()));
      suggestions.replaceChildren(...(found.data || []).map(function (i) {
        const option = document.createElement("option");
        option.value = i.sku;
        option.label = i.name;
        return option;
      }));
    }, 120));
    sku.addEventListener("change", async function () {
      extras.replaceChildren();
      text(facts, "");
      if (!sku.value.trim()) { scheduleQuote(); return; }
      const found = await api("GET", "/phone-order/item?sku=" + encodeURIComponent(sku.value.trim()) +
                              "&division=" + encodeURIComponent(division()));
      if (found.data && found.data.style) { pickVariant(found.data.style, sku, facts, extras); return; }
      if (!found.data || !found.data.found) { text(facts, "No item " + sku.value); return; }
      const item = found.data;
      sku.value = item.sku;
      text(facts, item.name + " — " + item.available + " available" + (item.status !== "active" ? " (" + item.status + ")" : ""));
      for (const field of item.fields) {
        const label = document.createElement("label");
        label.textContent = field.label + (field.surcharge ? " (+" + field.surcharge + ")" : "") + " ";
        let input;
        if (field.options.length) {
          input = document.createElement("select");
          input.append(new Option("", ""), ...field.options.map(function (o) { return new Option(o, o); }));
        } else {
          input = document.createElement("input");
          input.type = "text";
          if (field.max_length) input.maxLength = field.max_length;
        }
        input.name = "line-" + n + "-p-" + field.name;
        input.required = field.required;
        input.className = "line-personal";
        input.addEventListener("change", scheduleQuote);
        label.appendChild(input);
        extras.appendChild(label);
      }
      scheduleQuote();
    });
  }

  // A style's code was typed: one select per axis (size, colour, …); the chosen combination becomes the line's SKU.
  function pickVariant(style, sku, facts, extras) {
    text(facts, style.name + ": choose " + style.axes.map(function (a) { return a[0]; }).join(" and "));
    const chosen = {};
    for (const [axis, values] of style.axes) {
      const label = document.createElement("label");
      label.textContent = axis + " ";
      const select = document.createElement("select");
      select.className = "variant-axis";
      select.dataset.axis = axis;
      select.append(new Option("", ""), ...values.map(function (v) { return new Option(v, v); }));
      select.addEventListener("change", function () {
        chosen[axis] = select.value;
        const match = style.variants.find(function (v) {
          return style.axes.every(function (a) { return v.values[a[0]] === chosen[a[0]]; });
        });
        if (match) { sku.value = match.sku; sku.dispatchEvent(new Event("change")); }
      });
      label.appendChild(select);
      extras.appendChild(label);
    }
  }

  // --- the live quote ------------------------------------------------------------------------------------------
  function value(name) { const el = form.elements.namedItem(name); return el ? el.value.trim() : ""; }
  function request() {
    const shipTos = [];
    for (const block of document.querySelectorAll("fieldset.recipient")) {
      const n = block.dataset.index;
      if (!value("ship-" + n + "-name") && !value("ship-" + n + "-line1")) continue;
      shipTos.push({ ref: value("ship-" + n + "-ref"), name: value("ship-" + n + "-name"), line1: value("ship-" + n + "-line1"),
                     city: value("ship-" + n + "-city"), region: value("ship-" + n + "-region"),
                     postal_code: value("ship-" + n + "-postal_code"), country: (value("ship-" + n + "-country") || "US").toUpperCase(),
                     method: value("ship-" + n + "-method") || "ground" });
    }
    const lines = [];
    for (const line of document.querySelectorAll("fieldset.line")) {
      const n = line.dataset.index;
      if (!value("line-" + n + "-sku")) continue;
      const personalization = {};
      for (const input of line.querySelectorAll(".line-personal")) {
        if (input.value) personalization[input.name.split("-p-")[1]] = input.value;
      }
      lines.push({ sku: value("line-" + n + "-sku"), quantity: parseInt(value("line-" + n + "-quantity") || "1", 10),
                   ship_to: value("line-" + n + "-ship_to") || "A", personalization: personalization });
    }
    const body = { channel: channel.value, lines: lines, ship_tos: shipTos,
                   coupons: value("coupons").split(",").map(function (c) { return c.trim(); }).filter(Boolean) };
    if (value("customer")) body.customer = value("customer");
    if (value("source_code")) body.source_code = value("source_code");
    return body;
  }
  const quoteBox = document.getElementById("quote");
  async function quote() {
    const body = request();
    if (!body.lines.length || !body.ship_tos.length) return;
    const answer = await api("POST", "/api/v1/orders/quote", body);
    if (!answer.ok) {
      quoteBox.innerHTML = "";
      const p = document.createElement("p");
      p.className = "error";
      p.textContent = answer.data ? (answer.data.errors && answer.data.errors.length ? answer.data.errors.map(function (e) { return e.field + ": " + e.message; }).join("; ") : answer.data.detail) : "could not price";
      quoteBox.appendChild(p);
      return;
    }
    const q = answer.data;
    const rows = [["Merchandise", q.merchandise], ["Personalization", q.surcharges], ["Discounts", q.discounts],
                  ["Shipping", q.shipping_total], ["Tax", q.tax], ["Total", q.total]];
    const table = document.createElement("table");
    table.id = "quote-summary";
    for (const [label, amount] of rows) {
      const tr = table.insertRow();
      tr.insertCell().textContent = label;
      const cell = tr.insertCell();
      cell.className = "num";
      cell.textContent = "$" + Number(amount.amount).toFixed(2);
      if (label === "Total") { tr.id = "quote-total"; tr.style.fontWeight = "700"; }
    }
    const why = document.createElement("ul");
    for (const adjustment of q.adjustments) {
      const li = document.createElement("li");
      const where = adjustment.line ? "line " + adjustment.line : (adjustment.ship_to ? "to " + adjustment.ship_to : "order");
      li.textContent = adjustment.kind + " (" + where + (adjustment.source ? ", " + adjustment.source : "") + "): " +
                       adjustment.amount.amount + (adjustment.note ? " — " + adjustment.note : "");
      why.appendChild(li);
    }
    quoteBox.replaceChildren(table, why);
  }
  function scheduleQuote() { clearTimeout(quoteTimer); quoteTimer = setTimeout(quote, 250); }
  form.addEventListener("change", scheduleQuote);

  // --- the card, straight to the vault -------------------------------------------------------------------------
  const cardResult = document.getElementById("card-result");
  document.getElementById("card-store").addEventListener("click", async function () {
    const numberInput = document.getElementById("card-number");
    const answer = await api("POST", "/vault/v1/cards", {
      number: numberInput.value, exp_month: parseInt(document.getElementById("card-month").value, 10),
      exp_year: parseInt(document.getElementById("card-year").value, 10), cvc: document.getElementById("card-cvc").value,
    });
    numberInput.value = "";
    document.getElementById("card-cvc").value = "";
    if (!answer.ok) {
      cardResult.className = "error";
      text(cardResult, "Card refused: " + (answer.data && answer.data.errors ? answer.data.errors.map(function (e) { return e.message; }).join(", ") : "try again"));
      return;
    }
    document.getElementById("pay-0-method").value = "card";
    document.getElementById("pay-0-token").value = answer.data.token;
    cardResult.className = "ok";
    text(cardResult, answer.data.brand + " ····" + answer.data.last_four + " ready (expires " + answer.data.exp_month + "/" + answer.data.exp_year + ")");
  });

  // --- a gift card's balance -----------------------------------------------------------------------------------
  document.getElementById("gift-balance").addEventListener("click", async function () {
    const code = document.getElementById("pay-1-token").value.trim();
    const result = document.getElementById("gift-result");
    const answer = await api("GET", "/api/v1/gift-cards/" + encodeURIComponent(code) + "/balance");
    text(result, answer.ok ? "Balance $" + answer.data.balance.amount + " (" + answer.data.status + ")" :
                            (answer.data && answer.data.detail) || "not found");
  });
})();
