// The till's service worker (scope /pos): it keeps the till's page and its files so the till opens and keeps
// selling without the network. Pages and files are asked of the network first (a till online always runs the
// newest), and answered from the cache when the network is not there. The API is never cached: sales go through the
// till's own queue (IndexedDB) and are sent when the network is back.
"use strict";
const CACHE = "ordersmith-till-v2";
const FILES = ["/static/console.css", "/static/pos.css", "/static/console.js", "/static/pos_keep.js",
               "/static/pos_tenders.js", "/static/pos.js"];

self.addEventListener("install", function (event) {
  event.waitUntil((async function () {
    const cache = await caches.open(CACHE);
    await cache.addAll(FILES);
    // the till's page itself, as the signed-in user sees it (a redirect to the login page is not kept)
    const page = await fetch("/pos", { credentials: "same-origin", redirect: "follow" });
    if (page.ok && !page.redirected) await cache.put("/pos", page);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", function (event) {
  event.waitUntil((async function () {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

function kept(url) {
  return url.origin === self.location.origin && (url.pathname === "/pos" || FILES.indexOf(url.pathname) >= 0);
}

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (!kept(url)) return;  // the API, receipts and everything else: straight to the network
  event.respondWith((async function () {
    const cache = await caches.open(CACHE);
    try {
      const answer = await fetch(request);
      if (answer.ok && !answer.redirected) await cache.put(url.pathname, answer.clone());
      return answer;
    } catch (offline) {
      const found = await cache.match(url.pathname);
      if (found) return found;
      throw offline;
    }
  })());
});
