// The dashboard follows the event stream: when an order, a payment or stock moves, it asks for the figures again
// (at most every half second) and updates them in place — no reload.
(function () {
  "use strict";
  const status = document.getElementById("dashboard-status");
  let pending = null;

  function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }

  function rows(tbody, items, make) {
    tbody.replaceChildren(...items.map(make));
  }

  async function refresh() {
    pending = null;
    const response = await fetch("/dashboard/figures", { credentials: "same-origin" });
    if (!response.ok) return;
    const f = await response.json();
    for (const key of ["orders_today", "revenue_today", "average_order", "backordered", "low_stock"]) {
      document.getElementById("kpi-" + key).textContent = f[key];
    }
    document.querySelector("#kpi-on_hold a").textContent = f.on_hold;
    rows(document.querySelector("#by-channel tbody"), f.by_channel, function (c) {
      const tr = document.createElement("tr");
      tr.append(cell(c.channel), cell(c.orders), cell(c.revenue));
      tr.children[1].className = tr.children[2].className = "num";
      return tr;
    });
    rows(document.querySelector("#latest tbody"), f.latest, function (o) {
      const tr = document.createElement("tr");
      const link = document.createElement("a");
      link.href = "/orders/" + o.number;
      link.textContent = o.number;
      const number = document.createElement("td");
      number.append(link);
      tr.append(cell(o.placed_at), number, cell(o.channel), cell(o.status), cell(o.total));
      tr.lastChild.className = "num";
      return tr;
    });
  }

  const source = new EventSource("/api/v1/events");
  source.onopen = function () { status.textContent = "live"; status.className = "status live"; };
  source.onerror = function () { status.textContent = "reconnecting…"; status.className = "status"; };
  source.onmessage = function (frame) {
    const type = JSON.parse(frame.data).type || "";
    if (/^(order|payment|stock)\./.test(type) && pending === null) pending = setTimeout(refresh, 500);
  };
})();
