// The till. A barcode scanner is a keyboard: it types the code and Enter into the scan field, which keeps the focus.
// The register's catalog slice (items, barcodes, one unit's price at this store, the store's tax rate, free units)
// is kept in IndexedDB, so the till finds items and estimates totals without the network; online, totals come from
// the server's pricing pipeline (POST /api/v1/pos/quote: promotions, coupons, the customer's prices).
//
// Every sale gets its own id (crypto.randomUUID) when it is completed. A sale without a card is written to the
// IndexedDB queue first and then sent (POST /api/v1/pos/sales); without the network it waits there, marked as handed
// over offline, and is sent when the network is back — as often as needed: the server places one order per sale id.
// A card needs the network (the sandbox has no store-and-forward): a card sale is sent at once, and sent again with
// the same id when its answer was lost. The service worker (/pos/service-worker.js) keeps this page and its files.
(function () {
  "use strict";
  const root = document.getElementById("till");
  if (!root) return;
  const $ = function (id) { return document.getElementById(id); };
  const registerSelect = $("register");
  let csrf = (document.querySelector("meta[name=csrf-token]") || { content: "" }).content;
  let online = navigator.onLine;
  const keep = window.OrdersmithKeep;  // pos_keep.js: money, IndexedDB, what an answer means
  const minor = keep.minor, amount = keep.amount, taxOf = keep.taxOf, code = keep.code, asPromise = keep.asPromise;
  const store = keep.store, records = keep.records, putRecord = keep.putRecord, outcomeOf = keep.outcomeOf;
  const state = { register: "", currency: "USD", shift: "", lines: [], customer: null, coupons: [], tenders: [],
                  priced: null, cardSale: null, deliver: false };

  function shown(cents) { return state.currency === "USD" ? (cents < 0 ? "-$" : "$") + amount(Math.abs(cents)) : amount(cents) + " " + state.currency; }

  // --- the network and the API -------------------------------------------------------------------------------------
  function setOnline(value) {
    online = value;
    const net = $("network");
    net.textContent = online ? "Online" : "Offline — selling from this till's catalog";
    net.className = "net " + (online ? "on" : "off");
    root.dataset.online = online ? "yes" : "no";
    $("card-offline").hidden = online;
    $("card-take").disabled = !online;
    $("coupon-add").disabled = !online;
    $("customer-find").disabled = !online;
    $("gift-balance").disabled = !online;
    $("deliver").disabled = !online;
    if (!online && state.deliver) { state.deliver = false; $("deliver").checked = false; }
  }
  async function api(method, url, body) {
    let response;
    try {
      response = await fetch(url, {
        method: method, credentials: "same-origin", cache: "no-store",
        headers: Object.assign({ "X-CSRF-Token": csrf, "Accept": "application/json" }, body ? { "Content-Type": "application/json" } : {}),
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      setOnline(false);
      return { ok: false, status: 0, network: true, data: null };
    }
    if (!online && navigator.onLine) setOnline(true);
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    return { ok: response.ok, status: response.status, network: false, data: data };
  }
  function problem(answer) {
    const d = answer.data || {};
    if (d.errors && d.errors.length) return d.errors.map(function (e) { return e.field + ": " + e.message; }).join("; ");
    return d.detail || ("the server answered " + answer.status);
  }
  async function refreshCsrf() {
    const me = await api("GET", "/api/v1/me");
    if (me.ok && me.data && me.data.csrf_token) csrf = me.data.csrf_token;
    return me;
  }

  // --- the register, its shift and its catalog slice ----------------------------------------------------------------
  function chosen() { return registerSelect ? registerSelect.selectedOptions[0] : null; }
  async function chooseRegister() {
    const option = chosen();
    if (!option) return;
    state.register = option.value;
    state.currency = option.dataset.currency || "USD";
    localStorage.setItem("pos.register", state.register);
    state.shift = option.dataset.shift || localStorage.getItem("pos.shift." + state.register) || "";
    showShift();
    await showCatalogState();
    if (online) { await refreshRegister(); await refreshCatalog(); }
    await renderRecent();
  }
  function showShift() {
    const link = $("shift-link");
    if (!link) return;
    link.href = "/pos/shifts?register=" + encodeURIComponent(state.register);
    link.textContent = state.shift ? "Shift open" : "No shift open: open one";
    link.className = state.shift ? "" : "warn";
  }
  async function refreshRegister() {
    const answer = await api("GET", "/api/v1/pos/registers/" + encodeURIComponent(state.register));
    if (!answer.ok) return;
    state.shift = answer.data.open_shift || "";
    localStorage.setItem("pos.shift." + state.register, state.shift);
    showShift();
  }
  async function showCatalogState() {
    const meta = await store("meta", "readonly", function (t) { return asPromise(t.objectStore("meta").get("catalog:" + state.register)); });
    $("catalog-state").textContent = meta ? meta.count + " items kept for offline, " + new Date(meta.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "Catalog not loaded yet";
    root.dataset.catalog = meta ? "ready" : "missing";
  }
  async function refreshCatalog() {
    const register = state.register;
    const items = [];
    let cursor = null;
    do {
      const answer = await api("GET", "/api/v1/pos/registers/" + encodeURIComponent(register) + "/catalog?limit=200" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
      if (!answer.ok) return;
      for (const item of answer.data.items) items.push(item);
      cursor = answer.data.next_cursor;
    } while (cursor);
    await store(["items", "meta"], "readwrite", async function (t) {
      const kept = t.objectStore("items");
      const old = await asPromise(kept.index("register").getAllKeys(register));
      for (const key of old) kept.delete(key);
      for (const item of items) kept.put(asKept(register, item));
      t.objectStore("meta").put({ key: "catalog:" + register, at: new Date().toISOString(), count: items.length });
    });
    await showCatalogState();
  }
  function asKept(register, item) {
    return { key: register + "|" + item.sku.toUpperCase(), register: register, sku: item.sku, name: item.name,
             price: minor(item.price.amount), rate: String(item.tax_rate), free: item.free,
             codes: [item.sku.toUpperCase()].concat(item.barcodes) };
  }
  async function findKept(scanned) {
    const found = await store("items", "readonly", function (t) { return asPromise(t.objectStore("items").index("code").getAll(code(scanned))); });
    return found.find(function (i) { return i.register === state.register; }) || null;
  }

  // --- the sale ------------------------------------------------------------------------------------------------------
  async function scan(text) {
    const result = $("scan-result");
    if (!text.trim()) return;
    let item = await findKept(text);
    if (!item && online) {
      const answer = await api("GET", "/api/v1/pos/registers/" + encodeURIComponent(state.register) + "/lookup?scan=" + encodeURIComponent(text.trim()));
      if (answer.ok) {
        item = asKept(state.register, answer.data);
        await store("items", "readwrite", function (t) { t.objectStore("items").put(item); });
      }
    }
    if (!item) {
      result.textContent = "Not found: " + text.trim();
      result.className = "scan-result error";
      return;
    }
    const line = state.lines.find(function (l) { return l.sku === item.sku; });
    if (line) line.quantity += 1;
    else state.lines.push({ sku: item.sku, name: item.name, price: item.price, rate: item.rate, quantity: 1, free: item.free });
    result.textContent = "Added " + item.name + " (" + item.sku + ")";
    result.className = "scan-result ok";
    changed();
  }
  const DELIVERY = { name: "d-name", line1: "d-line1", city: "d-city", region: "d-region", postal_code: "d-postal",
                     country: "d-country", method: "d-method" };
  function deliverTo() {
    if (!state.deliver) return null;
    const address = {};
    for (const [name, id] of Object.entries(DELIVERY)) address[name] = $(id).value.trim();
    return address;
  }
  async function showElsewhere(line) {
    const answer = await api("GET", "/api/v1/pos/registers/" + encodeURIComponent(state.register) + "/availability?sku=" + encodeURIComponent(line.sku));
    const box = $("elsewhere");
    $("delivery").open = true;
    if (!answer.ok) { box.textContent = answer.network ? "Other locations need the network." : problem(answer); return; }
    const others = answer.data.elsewhere.map(function (s) { return s.location + " " + s.available; });
    box.textContent = line.name + ": " + answer.data.here + " here" + (others.length ? "; " + others.join(", ") + " elsewhere" : "; none elsewhere");
  }
  function estimate() {
    let merchandise = 0, tax = 0;
    for (const line of state.lines) {
      const net = line.price * line.quantity;
      merchandise += net;
      tax += taxOf(net, line.rate);
    }
    return { merchandise: merchandise, discounts: 0, tax: tax, total: merchandise + tax, server: false };
  }
  let asked = 0;
  async function reprice() {
    state.priced = estimate();
    renderTotals();
    if (!online || !state.lines.length) return;
    const ticket = ++asked;
    const delivery = deliverTo();
    if (delivery && !(delivery.name && delivery.line1 && delivery.city && delivery.country && delivery.method)) return;
    const answer = await api("POST", "/api/v1/pos/quote", {
      register: state.register, customer: state.customer ? state.customer.number : null, coupons: state.coupons,
      deliver_to: delivery,
      lines: state.lines.map(function (l) { return { sku: l.sku, quantity: l.quantity }; }),
    });
    if (ticket !== asked) return;
    if (answer.ok) {
      const q = answer.data;
      state.priced = { merchandise: minor(q.merchandise.amount), discounts: minor(q.discounts.amount), tax: minor(q.tax.amount),
                       total: minor(q.total.amount), server: true, rejected: q.rejected_coupons };
    } else if (!answer.network) {
      $("scan-result").textContent = problem(answer);
      $("scan-result").className = "scan-result error";
    }
    renderTotals();
  }
  function paid() {
    let cents = 0;
    for (const t of state.tenders) cents += t.method === "cash" ? t.received - t.change : t.amount;
    return cents;
  }
  function due() { return state.priced ? state.priced.total - paid() : 0; }
  function changed() {
    // a changed cart prices again and takes back what was tendered (the customer pays the new total)
    if (state.tenders.some(function (t) { return t.method === "card"; })) {
      $("outcome").textContent = "The cart changed: the card will be asked for the new amount";
    }
    state.tenders = [];
    state.cardSale = null;
    renderCart();
    reprice();
  }
  function renderCart() {
    const body = $("cart-lines");
    body.replaceChildren();
    state.lines.forEach(function (line, n) {
      const row = document.createElement("tr");
      row.dataset.sku = line.sku;
      const item = document.createElement("td");
      item.textContent = line.name + " ";
      const sku = document.createElement("span"); sku.className = "muted"; sku.textContent = line.sku; item.appendChild(sku);
      if (line.free !== null && line.free !== undefined && line.quantity > line.free) {
        const warn = document.createElement("span"); warn.className = "badge warn"; warn.textContent = line.free + " in store"; item.appendChild(warn);
        if (online) item.appendChild(button("Elsewhere?", "Where else " + line.name + " is", function () { showElsewhere(line); }));
      }
      const qty = document.createElement("td"); qty.className = "num qty";
      const less = button("−", "Fewer " + line.name, function () { line.quantity -= 1; if (line.quantity < 1) state.lines.splice(n, 1); changed(); });
      const count = document.createElement("span"); count.className = "count"; count.textContent = line.quantity;
      const more = button("+", "More " + line.name, function () { line.quantity += 1; changed(); });
      qty.append(less, count, more);
      const price = document.createElement("td"); price.className = "num"; price.textContent = amount(line.price);
      const total = document.createElement("td"); total.className = "num"; total.textContent = amount(line.price * line.quantity);
      const remove = document.createElement("td");
      remove.appendChild(button("×", "Remove " + line.name, function () { state.lines.splice(n, 1); changed(); }));
      row.append(item, qty, price, total, remove);
      body.appendChild(row);
    });
    $("cart-empty").hidden = state.lines.length > 0;
  }
  function button(label, name, onClick) {
    const b = document.createElement("button");
    b.type = "button"; b.className = "touch"; b.textContent = label; b.setAttribute("aria-label", name);
    b.addEventListener("click", onClick);
    return b;
  }
  function renderTotals() {
    const p = state.priced || { merchandise: 0, discounts: 0, tax: 0, total: 0, server: false };
    $("t-merchandise").textContent = amount(p.merchandise);
    $("t-discounts").textContent = p.discounts ? "-" + amount(p.discounts) : "0.00";
    $("t-tax").textContent = amount(p.tax);
    $("t-total").textContent = shown(p.total);
    $("priced-by").textContent = !state.lines.length ? "" : p.server ? "Priced by the server (promotions and coupons included)"
      : "Estimated on this till (offline): the order is priced again when it is sent";
    const rejected = p.rejected || {};
    $("coupons").textContent = state.coupons.map(function (c) { return rejected[c] ? c + " (not applied: " + rejected[c].replace(/_/g, " ") + ")" : c; }).join(", ");
    const list = $("tenders");
    list.replaceChildren();
    state.tenders.forEach(function (t, n) {
      const item = document.createElement("li");
      item.textContent = t.label + " " + (t.method === "cash" ? amount(t.received) + " handed over, change " + amount(t.change) : amount(t.amount)) + " ";
      item.appendChild(button("×", "Take back " + t.label, function () { state.tenders.splice(n, 1); state.cardSale = null; renderTotals(); }));
      list.appendChild(item);
    });
    const left = due();
    $("due").textContent = amount(Math.max(left, 0));
    $("complete").disabled = !(state.lines.length && state.tenders.length && left === 0 && (!state.deliver || p.server));
    root.dataset.due = String(left);
    updateChange();
  }
  function updateChange() {
    const received = minor($("cash-received").value);
    const left = due();
    $("change-due").textContent = amount(received !== null && received > left ? received - left : 0);
  }

  // --- tenders (pos_tenders.js: cash, card through the vault, gift card) -------------------------------------------
  window.OrdersmithTenders.install({ state: state, due: due, renderTotals: renderTotals, updateChange: updateChange,
                                     api: api, problem: problem, isOnline: function () { return online; } });

  // --- endless aisle: delivered instead of carried out --------------------------------------------------------------
  $("deliver").addEventListener("change", function () { state.deliver = $("deliver").checked; changed(); });
  for (const id of Object.values(DELIVERY)) $(id).addEventListener("change", function () { if (state.deliver) reprice(); });
  async function fillDelivery(number) {
    const answer = await api("GET", "/api/v1/customers/" + encodeURIComponent(number));
    if (!answer.ok) return;
    const address = (answer.data.addresses || []).filter(function (a) { return a.kind === "ship_to"; })
      .sort(function (a, b) { return (b.is_default ? 1 : 0) - (a.is_default ? 1 : 0); })[0];
    if (!address) return;
    $("d-name").value = address.name || answer.data.display_name || ""; $("d-line1").value = address.line1 || "";
    $("d-city").value = address.city || ""; $("d-region").value = address.region || "";
    $("d-postal").value = address.postal_code || ""; $("d-country").value = address.country || "US";
  }

  // --- customer and coupon -------------------------------------------------------------------------------------------
  let finding = null;
  $("customer-find").addEventListener("input", function () {
    clearTimeout(finding);
    finding = setTimeout(async function () {
      const q = $("customer-find").value.trim();
      const box = $("customer-matches");
      box.replaceChildren();
      if (q.length < 2 || !online) return;
      const answer = await api("GET", "/api/v1/customers?limit=6&q=" + encodeURIComponent(q));
      if (!answer.ok) return;
      for (const hit of answer.data.items) {
        const b = button(hit.display_name + " · " + hit.number, "Attach " + hit.display_name, function () {
          state.customer = { number: hit.number, name: hit.display_name };
          $("customer-chosen").textContent = hit.display_name + " (" + hit.number + ")";
          $("customer-clear").hidden = false;
          box.replaceChildren();
          $("customer-find").value = "";
          fillDelivery(hit.number).then(function () { changed(); });
        });
        b.className = "choice";
        box.appendChild(b);
      }
    }, 200);
  });
  $("customer-clear").addEventListener("click", function () {
    state.customer = null; $("customer-chosen").textContent = "No customer"; $("customer-clear").hidden = true; changed();
  });
  $("coupon-add").addEventListener("click", function () {
    const c = $("coupon").value.trim().toUpperCase();
    if (c && state.coupons.indexOf(c) < 0) state.coupons.push(c);
    $("coupon").value = "";
    changed();
  });

  // --- completing a sale, the queue and its sync -------------------------------------------------------------------------
  function saleBody() {
    return {
      id: crypto.randomUUID(), register: state.register, rung_at: new Date().toISOString(), offline: !online,
      shift: state.shift || null, customer: state.customer ? state.customer.number : null, coupons: state.coupons,
      lines: state.lines.map(function (l) { return { sku: l.sku, quantity: l.quantity }; }),
      tenders: state.tenders.map(function (t) {
        return t.method === "cash" ? { method: "cash", received: amount(t.received), change: amount(t.change) }
                                   : { method: t.method, amount: amount(t.amount), token: t.token };
      }),
      till_total: amount(state.priced.total),
      deliver_to: deliverTo(),
    };
  }
  function summary() {
    return { lines: state.lines.map(function (l) { return { sku: l.sku, name: l.name, quantity: l.quantity, price: l.price }; }),
             total: state.priced.total, tenders: state.tenders.map(function (t) { return { label: t.label, amount: t.method === "cash" ? t.received - t.change : t.amount }; }),
             change: (state.tenders.find(function (t) { return t.method === "cash"; }) || { change: 0 }).change,
             received: (state.tenders.find(function (t) { return t.method === "cash"; }) || { received: 0 }).received };
  }
  async function send(record) {
    const answer = await api("POST", "/api/v1/pos/sales", record.body);
    const outcome = outcomeOf(answer);
    if (outcome === "placed") {
      record.state = "placed"; record.order = answer.data.order.number;
      record.priced_total = minor(answer.data.order.total.amount);
    } else if (outcome === "flagged") {
      record.state = "flagged"; record.reason = answer.data.reason; record.detail = answer.data.detail;
    } else if (outcome === "refused") {
      record.state = "refused"; record.detail = problem(answer);
    }
    record.tries = (record.tries || 0) + 1;
    return { outcome: outcome, answer: answer };
  }
  function say(kind, text, saleId) {
    const box = $("outcome");
    box.className = "outcome " + kind;
    box.replaceChildren(document.createTextNode(text + " "));
    if (saleId) {
      const receipt = document.createElement("a");
      receipt.href = "/pos/receipts/" + saleId; receipt.textContent = "Receipt"; receipt.className = "receipt-link";
      box.appendChild(receipt);
    }
  }
  function resetSale() {
    state.lines = []; state.customer = null; state.coupons = []; state.tenders = []; state.priced = null; state.cardSale = null;
    state.deliver = false; $("deliver").checked = false; $("delivery").open = false; $("elsewhere").textContent = "";
    $("customer-chosen").textContent = "No customer"; $("customer-clear").hidden = true;
    for (const panel of document.querySelectorAll(".panel")) panel.hidden = true;
    renderCart(); renderTotals();
    $("scan").focus();
  }
  async function complete() {
    if ($("complete").disabled) return;
    $("complete").disabled = true;
    const withCard = state.tenders.some(function (t) { return t.method === "card"; });
    const change = summary().change;
    if (withCard) {
      if (!online) { say("error", "A card needs the network: take cash or a gift card."); renderTotals(); return; }
      // the same sale (same id) is sent again when its answer was lost: the card is charged once
      const record = state.cardSale || { id: null, body: saleBody(), register: state.register, summary: summary() };
      record.id = record.body.id; record.rung_at = record.body.rung_at; record.state = "sending";
      state.cardSale = record;
      const sent = await send(record);
      if (sent.outcome === "placed") {
        await putRecord(record);
        say("ok", "Order " + record.order + " placed." + (change ? " Change due " + amount(change) + "." : ""), record.id);
        resetSale(); await renderRecent(); return;
      }
      if (sent.outcome === "waiting") { say("error", "No answer from the server: press Complete sale again (the card is charged once)."); renderTotals(); return; }
      say("error", "Not placed: " + (record.detail || problem(sent.answer))); state.cardSale = null; renderTotals(); return;
    }
    const body = saleBody();
    const record = { id: body.id, register: state.register, rung_at: body.rung_at, body: body, state: "queued", summary: summary() };
    await putRecord(record);
    if (!online) {
      say("ok", "Sale saved on this till: it is sent when the network is back." + (change ? " Change due " + amount(change) + "." : ""));
      resetSale(); await renderRecent(); await showQueue(); return;
    }
    const sent = await send(record);
    if (sent.outcome === "refused") {
      // the customer is still here: nothing was written, the sale stays on screen to be put right
      await store("queue", "readwrite", function (t) { t.objectStore("queue").delete(record.id); });
      say("error", "Not placed: " + record.detail); renderTotals(); return;
    }
    if (sent.outcome === "waiting") {
      record.body.offline = true;  // the goods are handed over: a refusal later flags the sale for the manager
      await putRecord(record);
      say("ok", "No answer from the server: the sale is kept on this till and sent again." + (change ? " Change due " + amount(change) + "." : ""));
    } else {
      await putRecord(record);
      say(sent.outcome === "placed" ? "ok" : "error", sent.outcome === "placed" ? "Order " + record.order + " placed." + (change ? " Change due " + amount(change) + "." : "")
        : "Flagged for the store manager: " + record.detail, record.id);
    }
    resetSale(); await renderRecent(); await showQueue();
  }
  $("complete").addEventListener("click", complete);
  $("void-sale").addEventListener("click", function () { state.cardSale = null; resetSale(); $("outcome").textContent = ""; });

  let syncing = null;
  function sync() {
    if (!syncing) syncing = syncOnce().finally(function () { syncing = null; });
    return syncing;
  }
  async function syncOnce() {
    if (!online) return;
    const waiting = (await records()).filter(function (r) { return r.state === "queued"; })
      .sort(function (a, b) { return a.rung_at < b.rung_at ? -1 : 1; });
    if (!waiting.length) { await showQueue(); return; }
    const me = await refreshCsrf();
    if (me.status === 401) { $("queue-state").textContent = waiting.length + " sales waiting: sign in again to send them"; return; }
    if (!me.ok) return;
    for (const record of waiting) {
      const sent = await send(record);
      if (sent.outcome === "waiting") break;
      await putRecord(record);
    }
    await showQueue(); await renderRecent();
  }
  async function showQueue() {
    const all = await records(state.register);
    const waiting = all.filter(function (r) { return r.state === "queued"; }).length;
    const flagged = all.filter(function (r) { return r.state === "flagged"; }).length;
    $("queue-state").textContent = (waiting ? waiting + (waiting === 1 ? " sale" : " sales") + " waiting to be sent" : "No sales waiting")
      + (flagged ? ", " + flagged + " flagged for the manager" : "");
    root.dataset.waiting = String(waiting);
  }
  async function renderRecent() {
    const all = (await records(state.register)).sort(function (a, b) { return a.rung_at < b.rung_at ? 1 : -1; }).slice(0, 15);
    const body = $("recent-lines");
    body.replaceChildren();
    for (const r of all) {
      const row = document.createElement("tr");
      row.dataset.sale = r.id; row.dataset.state = r.state;
      const when = document.createElement("td"); when.textContent = new Date(r.rung_at).toLocaleTimeString();
      const sale = document.createElement("td"); sale.textContent = r.order ? "Order " + r.order : r.id.slice(0, 8);
      const st = document.createElement("td");
      st.textContent = { queued: "waiting for the network", placed: "placed", flagged: "flagged: " + (r.reason || "").replace(/_/g, " "), refused: "refused: " + (r.detail || "") }[r.state] || r.state;
      const total = document.createElement("td"); total.className = "num"; total.textContent = amount(r.summary ? r.summary.total : 0);
      const receipt = document.createElement("td");
      if (r.state === "placed" || r.state === "flagged") {
        const a = document.createElement("a"); a.href = "/pos/receipts/" + r.id; a.textContent = "Receipt"; receipt.appendChild(a);
      } else if (r.summary) {
        receipt.appendChild(button("Print", "Print the receipt of this sale", function () { printProvisional(r); }));
      }
      row.append(when, sale, st, total, receipt);
      body.appendChild(row);
    }
  }
  function printProvisional(r) {
    const box = $("print-receipt");
    box.replaceChildren();
    const option = chosen();
    const lines = [option ? option.dataset.storeName : "", "Register " + r.register + " · " + new Date(r.rung_at).toLocaleString(),
                   "Sale " + r.id + " (to be confirmed when the till is back online)", ""];
    for (const l of r.summary.lines) lines.push(l.quantity + " x " + l.name + "  " + amount(l.price * l.quantity));
    lines.push("", "Total " + amount(r.summary.total));
    for (const t of r.summary.tenders) lines.push(t.label + " " + amount(t.amount));
    if (r.summary.received) lines.push("Cash handed over " + amount(r.summary.received), "Change " + amount(r.summary.change));
    const pre = document.createElement("pre"); pre.textContent = lines.join("\n"); box.appendChild(pre);
    window.print();
  }
  $("sync-now").addEventListener("click", sync);

  // --- the scanner, the network's comings and goings, the service worker ---------------------------------------------
  $("scan-form").addEventListener("submit", function (e) {
    e.preventDefault();
    const text = $("scan").value;
    $("scan").value = "";
    scan(text);
    $("scan").focus();
  });
  if (registerSelect) {
    registerSelect.addEventListener("change", function () { resetSale(); chooseRegister(); });
    const remembered = localStorage.getItem("pos.register");
    if (remembered && Array.from(registerSelect.options).some(function (o) { return o.value === remembered; })) registerSelect.value = remembered;
  }
  window.addEventListener("online", function () { setOnline(true); refreshRegister().then(refreshCatalog).then(sync); reprice(); });
  window.addEventListener("offline", function () { setOnline(false); renderTotals(); });
  setInterval(function () { if (online) sync(); }, 15000);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/pos/service-worker.js", { scope: "/pos" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function () { root.dataset.worker = "ready"; }).catch(function () { root.dataset.worker = "failed"; });
  }
  // for tests and support: the till's own records, and a sync on demand
  window.ordersmithTill = { records: records, sync: sync, reprice: reprice };
  setOnline(online);
  renderCart(); renderTotals();
  chooseRegister().then(showQueue).then(sync).then(function () { root.dataset.started = "yes"; });
})();
