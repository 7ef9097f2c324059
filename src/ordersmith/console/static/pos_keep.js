// What the till keeps and how it reads the server's answers, apart from its screen (pos.js): money as integer minor
// units, the IndexedDB database (the register's catalog slice, the queue of sales, the slice's state), and what an
// answer to a sent sale means for it.
(function () {
  "use strict";
  // --- money: integer minor units (two decimals) ---------------------------------------------------------------
  function minor(text) {
    const m = /^\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*$/.exec(String(text));
    if (!m) return null;
    return parseInt(m[1], 10) * 100 + (m[2] ? parseInt((m[2] + "0").slice(0, 2), 10) : 0);
  }
  function amount(cents) { const sign = cents < 0 ? "-" : ""; const a = Math.abs(cents); return sign + Math.floor(a / 100) + "." + String(a % 100).padStart(2, "0"); }
  function taxOf(netCents, rate) {
    // round half up, as the pricing pipeline does: net × rate with the rate as an exact fraction
    const parts = String(rate).split(".");
    const den = Math.pow(10, (parts[1] || "").length);
    const num = parseInt(parts[0] + (parts[1] || ""), 10);
    const scaled = netCents * num;
    return scaled >= 0 ? Math.floor((2 * scaled + den) / (2 * den)) : -Math.floor((-2 * scaled + den) / (2 * den));
  }
  function code(text) {
    const t = String(text).trim();
    return /^\d+$/.test(t) && [8, 12, 13, 14].indexOf(t.length) >= 0 ? t.padStart(14, "0") : t.toUpperCase();
  }

  // --- IndexedDB ---------------------------------------------------------------------------------------------------
  let dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        const opening = indexedDB.open("ordersmith-pos", 1);
        opening.onupgradeneeded = function () {
          const d = opening.result;
          const items = d.createObjectStore("items", { keyPath: "key" });
          items.createIndex("code", "codes", { multiEntry: true });
          items.createIndex("register", "register");
          d.createObjectStore("queue", { keyPath: "id" }).createIndex("register", "register");
          d.createObjectStore("meta", { keyPath: "key" });
        };
        opening.onsuccess = function () { resolve(opening.result); };
        opening.onerror = function () { reject(opening.error); };
      });
    }
    return dbPromise;
  }
  function asPromise(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }
  async function store(name, mode, work) {
    const d = await db();
    return new Promise(function (resolve, reject) {
      const t = d.transaction(name, mode);
      let result;
      Promise.resolve(work(t)).then(function (r) { result = r; });
      t.oncomplete = function () { resolve(result); };
      t.onerror = function () { reject(t.error); };
      t.onabort = function () { reject(t.error); };
    });
  }
  function records(register) {
    return store("queue", "readonly", function (t) {
      return asPromise(register ? t.objectStore("queue").index("register").getAll(register) : t.objectStore("queue").getAll());
    });
  }
  function putRecord(record) { return store("queue", "readwrite", function (t) { t.objectStore("queue").put(record); }); }

  // What an answer means for a sale: placed, flagged (the manager's now), refused (nothing written), or still waiting.
  function outcomeOf(answer) {
    if (answer.ok) return "placed";
    if (answer.network || answer.status >= 500 || answer.status === 401 || answer.status === 403) return "waiting";
    if (answer.status === 409 && answer.data && answer.data.code === "pos_sale_flagged") return "flagged";
    if (answer.status === 409 && answer.data && answer.data.code === "idempotency_in_progress") return "waiting";
    return "refused";
  }
  window.OrdersmithKeep = { minor: minor, amount: amount, taxOf: taxOf, code: code, asPromise: asPromise, store: store,
                            records: records, putRecord: putRecord, outcomeOf: outcomeOf };
})();
