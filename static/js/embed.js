// qsgate's embed page: keeps the QuickSight console alive without
// reloading the portal. When the console session ends (its lifetime passes,
// the console says so, or the user presses Reload) it asks the portal for a
// fresh single-use URL (/api/embed-url) and swaps the iframe's source. When
// the portal session itself has ended it offers to sign in again and come
// back to the same page. It never stores or logs a URL.
(function () {
  "use strict";
  var frame = document.getElementById("qs-console");
  var notice = document.getElementById("qs-notice");
  var reload = document.getElementById("bar-reload");
  if (!frame || !notice || !reload) {
    return;
  }
  var api = frame.dataset.api;
  var login = frame.dataset.login;
  var origin = frame.dataset.origin;
  var seconds = parseInt(frame.dataset.sessionSeconds, 10) || 0;
  var timer = null;
  var busy = false;

  function say(text) {
    notice.textContent = text;
    notice.hidden = !text;
  }

  function signInAgain() {
    var a = document.createElement("a");
    a.href = login;
    a.id = "qs-sign-in-again";
    a.textContent = "Sign in again";
    notice.textContent = "Your portal session has ended. ";
    notice.append(a, " to come back to this page.");
    notice.hidden = false;
  }

  // The console session ends after its lifetime: fetch a fresh one then.
  function schedule() {
    if (timer) {
      clearTimeout(timer);
    }
    if (seconds > 0) {
      timer = setTimeout(function () { refresh(); }, seconds * 1000);
    }
  }

  function refresh() {
    if (busy) {
      return;
    }
    busy = true;
    fetch(api, {
      headers: { "X-Qsgate-Fetch": "1", "Accept": "application/json" },
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (r) {
      if (r.status === 401) {
        signInAgain();
        return null;
      }
      return r.json().then(function (body) {
        if (r.ok) {
          return body;
        }
        say((body.error || "QuickSight could not be opened") + ". " + (body.message || ""));
        var wait = parseInt(r.headers.get("Retry-After"), 10);
        if (wait > 0) {
          setTimeout(refresh, wait * 1000);
        }
        return null;
      });
    }).then(function (body) {
      if (body && body.embedUrl) {
        frame.src = body.embedUrl;
        frame.dataset.swaps = String((parseInt(frame.dataset.swaps, 10) || 0) + 1);
        say("");
        schedule();
      }
    }).catch(function () {
      say("The portal could not be reached. Check your connection, then press Reload.");
    }).finally(function () {
      busy = false;
    });
  }

  // A console that tells its parent its session ended (the QuickSight
  // simulator does; QuickSight itself shows its own page, and the timer
  // above covers it).
  window.addEventListener("message", function (e) {
    if (e.source === frame.contentWindow && e.origin === origin && e.data && e.data.qsgate === "session-ended") {
      refresh();
    }
  });
  reload.hidden = false;
  reload.addEventListener("click", refresh);
  schedule();
})();
