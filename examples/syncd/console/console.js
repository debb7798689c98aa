// Live sync progress: the console works without this script; with it, the progress section
// is refreshed from the server every two seconds while the page is visible. The fragment is
// rendered (and escaped) by the server's templates.
(function () {
  "use strict";
  var box = document.getElementById("progress-live");
  if (!box || !window.fetch) { return; }
  var busy = false;
  function refresh() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(box.getAttribute("data-src"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.redirected || !r.ok) { throw new Error("progress: " + r.status); }
        return r.text();
      })
      .then(function (html) { box.innerHTML = html; box.setAttribute("data-updated", String(Date.now())); })
      .catch(function () { /* keep the last progress shown; the next tick tries again */ })
      .then(function () { busy = false; });
  }
  setInterval(refresh, 2000);
})();
