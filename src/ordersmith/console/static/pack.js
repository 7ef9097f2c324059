// The pack station with a USB barcode scanner (a keyboard wedge: it types the code, then Enter). Without this
// script every scan is a plain form POST and the page reloads. With it, scans are queued and sent one after the
// other without reloading, so a quick second scan is never lost while the page loads; the station's part of the
// answer replaces the old one and its sound cue (a WAV the server wrote) plays. The scan box keeps the focus.
(function () {
  "use strict";
  const queue = [];
  let sending = false;

  function station() { return document.getElementById("station"); }
  function scanBox() { return document.getElementById("scan"); }

  function focusScan() {
    const box = scanBox();
    if (box && document.activeElement !== box) box.focus();
  }

  function playCue(root) {
    const audio = root.querySelector("audio.cue");
    if (audio) { audio.currentTime = 0; audio.play().catch(function () {}); }
  }

  async function send() {
    if (sending) return;
    sending = true;
    while (queue.length) {
      const { action, body } = queue.shift();
      let html;
      try {
        const response = await fetch(action, { method: "POST", body: body, credentials: "same-origin" });
        html = await response.text();
      } catch (e) {
        queue.length = 0;
        const old = station();
        const p = document.createElement("p");
        p.className = "scan-refused"; p.setAttribute("role", "alert");
        p.textContent = "The station lost the server: scan that item again.";
        old.prepend(p);
        break;
      }
      const fresh = new DOMParser().parseFromString(html, "text/html").getElementById("station");
      if (!fresh) { document.open(); document.write(html); document.close(); return; }
      const typing = scanBox() ? scanBox().value : "";  // a code being typed while the answer came
      station().replaceWith(fresh);
      playCue(fresh);
      const refusal = fresh.querySelector("[role=alert]");
      if (refusal && queue.length) {  // the packer looks before going on: later scans are not sent, and said so
        const note = document.createElement("span");
        note.textContent = " " + queue.length + " later scan(s) were not sent: scan them again.";
        refusal.append(note);
        queue.length = 0;
      }
      const box = scanBox();
      if (box) { box.value = typing; box.focus(); }
      else { const first = station().querySelector("[autofocus]"); if (first) first.focus(); }
    }
    sending = false;
  }

  document.addEventListener("submit", function (e) {
    const form = e.target;
    if (!form.matches("form[data-scan]")) return;
    e.preventDefault();
    const box = form.querySelector("input[name=code]");
    if (!box.value.trim()) return;
    queue.push({ action: form.action, body: new URLSearchParams(new FormData(form)) });
    box.value = "";
    send();
  });
  // A click on the page's background gives the focus back to the scan box (never away from another field).
  document.addEventListener("click", function (e) {
    if (!e.target.closest("input, select, textarea, button, a, label")) focusScan();
  });
  focusScan();
})();
