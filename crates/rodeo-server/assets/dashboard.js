// rodeo dashboard: progressive enhancement only. Every page works without this file.
// Live updates: /live sends an event per ledger change; the page is fetched again and
// its <main> swapped in, unless the visitor is typing in a form.
(function () {
  "use strict";
  var body = document.body;
  var source = body && body.getAttribute("data-live");
  if (!source || !window.EventSource || !window.fetch) return;
  var state = document.querySelector(".live-state");
  var timer = null;
  var busy = false;

  function say(text) { if (state) state.textContent = text; }

  function editing() {
    var a = document.activeElement;
    if (!a) return false;
    var tag = a.tagName;
    return (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") && a.form && a.form.method === "post";
  }

  function refresh() {
    timer = null;
    if (busy) { schedule(); return; }
    if (editing()) { say("Updated data available: reload to see it."); return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("main");
        var main = document.querySelector("main");
        if (fresh && main) {
          main.innerHTML = fresh.innerHTML;
          say("Updated " + new Date().toLocaleTimeString());
        }
      })
      .catch(function () { say("Live update failed; reload the page."); })
      .then(function () { busy = false; });
  }

  function schedule() {
    if (!timer) timer = window.setTimeout(refresh, 1500);
  }

  // One stream per visible page: a page kept in the back/forward cache must not hold a
  // connection (browsers allow six per host over HTTP/1.1).
  var es = null;
  function open() {
    if (es) return;
    es = new EventSource(source);
    es.addEventListener("change", schedule);
    es.onopen = function () { say("Live"); };
    es.onerror = function () { say("Live updates paused; retrying"); };
  }
  function close() {
    if (es) { es.close(); es = null; }
  }
  window.addEventListener("pagehide", close);
  window.addEventListener("pageshow", function (e) {
    open();
    if (e.persisted) schedule();
  });
  open();
})();
