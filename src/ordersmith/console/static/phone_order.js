// Phone order entry, keyboard first: Alt+C finds the customer, Alt+L adds a line (Enter in a line goes to the next,
// adding one at the end), Alt+R adds a recipient, Alt+K the coupon, Alt+P places the order. The quote beside the
// lines is rendered by the server (POST /phone-order/quote, the form as it stands) and swapped in as lines change.
// The card number goes to the vault (/vault/v1/cards) and never into the order form: only its token comes back,
// shown as "Visa ····4242".
(function () {
  "use strict";
  const form = document.getElementById("phone-order");
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const channel = document.getElementById("channel");
  const linesBox = document.getElementById("lines");
  const recipientsBox = document.getElementById("recipients");
  const quoteBox = document.getElementById("quote");
  const placeButton = document.getElementById("place-order");
  const REFS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const BRANDS = { amex: "Amex", mastercard: "Mastercard", jcb: "JCB", unionpay: "UnionPay" };

  function debounce(fn, ms) { let t = null; return function () { clearTimeout(t); const a = arguments; t = setTimeout(function () { fn.apply(null, a); }, ms); }; }
  function text(el, value) { el.textContent = value; }
  function division() { return channel.selectedOptions[0] ? channel.selectedOptions[0].dataset.division : ""; }
  function cardLabel(brand, lastFour) { return (BRANDS[brand] || brand.charAt(0).toUpperCase() + brand.slice(1)) + " ····" + lastFour; }
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
  function nextIndex(box, selector) {
    let top = -1;
    for (const row of box.querySelectorAll(selector)) top = Math.max(top, parseInt(row.dataset.index, 10));
    return top + 1;
  }
  function fromTemplate(id, replacements) {
    let html = document.getElementById(id).innerHTML;
    for (const [from, to] of Object.entries(replacements)) html = html.split(from).join(to);
    const holder = document.createElement("div");
    holder.innerHTML = html.trim();
    return holder.firstElementChild;
  }

  // --- the live quote, rendered by the server -------------------------------------------------------------------
  let asked = 0;
  async function quote() {
    const ticket = ++asked;
    const response = await fetch("/phone-order/quote", { method: "POST", credentials: "same-origin", body: new FormData(form) });
    if (ticket !== asked) return;  // a newer change already asked
    const why = document.getElementById("quote-why");
    const opened = why !== null && why.open;
    quoteBox.innerHTML = await response.text();
    if (opened && document.getElementById("quote-why")) document.getElementById("quote-why").open = true;
    for (const row of linesBox.querySelectorAll("fieldset.line")) text(row.querySelector(".line-price"), "");
    const rows = Array.from(linesBox.querySelectorAll("fieldset.line"));
    for (const priced of quoteBox.querySelectorAll("#quote-lines tr[data-line]")) {
      const row = rows[parseInt(priced.dataset.line, 10) - 1];
      if (row) text(row.querySelector(".line-price"), priced.querySelector(".line-amount").textContent);
    }
    const total = quoteBox.querySelector("#quote-total td");
    text(document.getElementById("place-total"), total ? total.textContent : "");
  }
  const scheduleQuote = debounce(quote, 200);
  form.addEventListener("change", scheduleQuote);
  form.addEventListener("input", function (e) {
    if (e.target.matches(".line-quantity, #coupons, .line-personal")) scheduleQuote();
  });

  // --- the customer -------------------------------------------------------------------------------------------
  const find = document.getElementById("customer-find");
  const matches = document.getElementById("customer-matches");
  const panel = document.getElementById("customer-panel");
  async function chooseCustomer(number) {
    document.getElementById("customer").value = number;
    matches.replaceChildren();
    const response = await fetch("/phone-order/customer?ref=" + encodeURIComponent(number), { credentials: "same-origin" });
    panel.innerHTML = await response.text();
    const card = document.getElementById("customer-card");
    const first = recipientsBox.querySelector("fieldset.recipient");
    if (card && card.dataset.number && first) {
      const n = first.dataset.index;
      const blank = !form.elements.namedItem("ship-" + n + "-line1").value.trim();
      for (const name of ["name", "line1", "city", "region", "postal_code", "country"]) {
        const value = card.dataset["ship" + name.replace(/(^|_)(\w)/g, function (_, __, c) { return c.toUpperCase(); })];
        const input = form.elements.namedItem("ship-" + n + "-" + name);
        if (input && value !== undefined && (blank || !input.value.trim())) input.value = value;
      }
    }
    scheduleQuote();
    const sku = linesBox.querySelector(".line-sku");
    if (sku) sku.focus();
  }
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
      button.addEventListener("click", function () { chooseCustomer(button.dataset.number); });
      matches.appendChild(button);
    }
  }, 150));
  find.addEventListener("keydown", function (e) {
    const first = matches.querySelector("button.choice");
    if (e.key === "Enter" && first) { e.preventDefault(); chooseCustomer(first.dataset.number); }
    if (e.key === "ArrowDown" && first) { e.preventDefault(); first.focus(); }
  });
  matches.addEventListener("keydown", function (e) {
    const buttons = Array.from(matches.querySelectorAll("button.choice"));
    const at = buttons.indexOf(document.activeElement);
    if (e.key === "ArrowDown" && at < buttons.length - 1) { e.preventDefault(); buttons[at + 1].focus(); }
    if (e.key === "ArrowUp") { e.preventDefault(); (at > 0 ? buttons[at - 1] : find).focus(); }
  });

  // --- recipients ---------------------------------------------------------------------------------------------
  function recipientRefs() { return Array.from(recipientsBox.querySelectorAll("fieldset.recipient")).map(function (r) { return r.dataset.ref; }); }
  function refreshShipToChoices() {
    const refs = recipientRefs();
    for (const select of linesBox.querySelectorAll("select.line-ship-to")) {
      const kept = refs.includes(select.value) ? select.value : refs[0];
      select.replaceChildren(...refs.map(function (ref) { return new Option("To " + ref, ref); }));
      select.value = kept;
    }
  }
  function addRecipient() {
    const used = recipientRefs();
    const ref = REFS.split("").find(function (r) { return !used.includes(r); });
    if (!ref) return;
    const row = fromTemplate("recipient-template", { __N__: String(nextIndex(recipientsBox, "fieldset.recipient")), __REF__: ref });
    recipientsBox.appendChild(row);
    refreshShipToChoices();
    row.querySelector("input[type=text]").focus();
  }
  document.getElementById("add-recipient").addEventListener("click", addRecipient);

  // --- lines --------------------------------------------------------------------------------------------------
  const suggestions = document.getElementById("item-suggestions");
  function renumber() {
    Array.from(linesBox.querySelectorAll("fieldset.line")).forEach(function (row, i) {
      text(row.querySelector(".line-number"), String(i + 1));
      text(row.querySelector("legend"), "Line " + (i + 1));
    });
  }
  function addLine() {
    const row = fromTemplate("line-template", { __N__: String(nextIndex(linesBox, "fieldset.line")), __NUMBER__: "" });
    linesBox.appendChild(row);
    renumber();
    refreshShipToChoices();
    wireLine(row);
    row.querySelector(".line-sku").focus();
    return row;
  }
  document.getElementById("add-line").addEventListener("click", addLine);

  function wireLine(line) {
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
      facts.title = facts.textContent;
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
        label.appendChild(input);
        extras.appendChild(label);
      }
      scheduleQuote();
    });
    line.querySelector(".remove-row").addEventListener("click", function () {
      if (linesBox.querySelectorAll("fieldset.line").length === 1) { sku.value = ""; extras.replaceChildren(); text(facts, ""); }
      else line.remove();
      renumber();
      scheduleQuote();
    });
  }
  for (const line of linesBox.querySelectorAll("fieldset.line")) wireLine(line);
  recipientsBox.addEventListener("click", function (e) {
    const button = e.target.closest(".remove-row");
    if (!button || recipientsBox.querySelectorAll("fieldset.recipient").length === 1) return;
    button.closest("fieldset.recipient").remove();
    refreshShipToChoices();
    scheduleQuote();
  });

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
      select.addEventListener("change", function (e) {
        e.stopPropagation();  // not a field of the order: no quote until the variant is known
        chosen[axis] = select.value;
        const match = style.variants.find(function (v) {
          return style.axes.every(function (a) { return v.values[a[0]] === chosen[a[0]]; });
        });
        if (match) { sku.value = match.sku; sku.dispatchEvent(new Event("change", { bubbles: true })); }
      });
      label.appendChild(select);
      extras.appendChild(label);
    }
  }

  // --- the card, straight to the vault -------------------------------------------------------------------------
  const cardResult = document.getElementById("card-result");
  const cardChosen = document.getElementById("card-chosen");
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
    const label = cardLabel(answer.data.brand, answer.data.last_four);
    cardChosen.replaceChildren(Object.assign(document.createElement("strong"), { textContent: label }));
    cardResult.className = "ok";
    text(cardResult, label + " ready (expires " + answer.data.exp_month + "/" + answer.data.exp_year + ")");
  });

  // --- a gift card's balance -----------------------------------------------------------------------------------
  document.getElementById("gift-balance").addEventListener("click", async function () {
    const code = document.getElementById("pay-1-token").value.trim();
    const result = document.getElementById("gift-result");
    const answer = await api("GET", "/api/v1/gift-cards/" + encodeURIComponent(code) + "/balance");
    text(result, answer.ok ? "Balance $" + answer.data.balance.amount + " (" + answer.data.status + ")" :
                            (answer.data && answer.data.detail) || "not found");
  });

  // --- the keyboard ----------------------------------------------------------------------------------------------
  let placing = false;
  form.addEventListener("submit", function (e) {
    if (placing) { e.preventDefault(); return; }  // one order per press, however often Alt+P is pressed
    if (!e.submitter || e.submitter === placeButton) placing = true;
  });
  document.addEventListener("keydown", function (e) {
    if (e.altKey && !e.ctrlKey && !e.metaKey) {
      const action = { KeyP: function () { form.requestSubmit(placeButton); }, KeyL: addLine, KeyR: addRecipient,
                       KeyC: function () { find.focus(); find.select(); },
                       KeyK: function () { document.getElementById("coupons").focus(); } }[e.code];
      if (action) { e.preventDefault(); action(); }
      return;
    }
    // Enter in a field never places the order by surprise: in a line it goes to the next line (a new one at the end)
    if (e.key === "Enter" && e.target.matches("#phone-order input:not([type=submit]):not(#customer-find)")) {
      e.preventDefault();
      const line = e.target.closest("fieldset.line");
      if (!line) { e.target.dispatchEvent(new Event("change", { bubbles: true })); return; }
      const next = line.nextElementSibling;
      if (next) next.querySelector(".line-sku").focus();
      else if (line.querySelector(".line-sku").value.trim()) addLine();
    }
  });
  if (linesBox.querySelector(".line-sku").value.trim()) quote();
})();
