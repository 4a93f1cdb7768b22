// qsgate's embed page: keeps the QuickSight console alive without
// reloading the portal. When the console session ends (its lifetime passes,
// the console says so, or the user presses Reload) it asks the portal for a
// fresh single-use URL (/api/embed-url) and swaps the iframe's source. When
// the portal session itself has ended it offers to sign in again and come
// back to the same page. "Open in a new tab" asks for a fresh URL the same
// way and opens it as a page of its own, for browsers that keep
// QuickSight's cookies from the frame. It never stores or logs a URL.
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
  var opening = false;

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

  // fresh asks the portal for a new single-use embed URL and resolves to
  // it, or to null once it has said why there is none (signed out, busy,
  // refused). again, if given, runs after the wait a Retry-After names.
  function fresh(again) {
    return fetch(api, {
      headers: { "X-Qsgate-Fetch": "1", "Accept": "application/json" },
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (r) {
      if (r.status === 401) {
        signInAgain();
        return null;
      }
      return r.json().then(function (body) {
        if (r.ok && body.embedUrl) {
          return body.embedUrl;
        }
        say((body.error || "QuickSight could not be opened") + ". " + (body.message || ""));
        var wait = parseInt(r.headers.get("Retry-After"), 10);
        if (again && wait > 0) {
          setTimeout(again, wait * 1000);
        }
        return null;
      });
    }).catch(function () {
      say("The portal could not be reached. Check your connection, then try again.");
      return null;
    });
  }

  function refresh() {
    if (busy) {
      return;
    }
    busy = true;
    fresh(refresh).then(function (url) {
      if (url) {
        frame.src = url;
        frame.dataset.swaps = String((parseInt(frame.dataset.swaps, 10) || 0) + 1);
        say("");
        schedule();
      }
    }).finally(function () {
      busy = false;
    });
  }

  // openInNewTab opens a fresh console as a top-level page. There
  // QuickSight's cookies are first-party, which browsers that block
  // third-party cookies (Safari, private windows) keep; in the frame they
  // are dropped and the console stays blank or says "Not authorized". The
  // URL is fetched on each press, never kept or reused; noopener leaves the
  // new page no handle on this one. The frame is left as it is. A press
  // while a URL is on its way does nothing.
  function openInNewTab() {
    if (opening) {
      return;
    }
    opening = true;
    fresh(null).then(function (url) {
      if (url) {
        window.open(url, "_blank", "noopener,noreferrer");
        // With noopener the browser says nothing of a blocked pop-up.
        say("QuickSight opened in a new tab. If none opened, allow pop-ups for this portal and press Open in a new tab again.");
      }
    }).finally(function () {
      opening = false;
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
  Array.prototype.forEach.call(document.querySelectorAll("[data-new-tab]"), function (el) {
    el.hidden = false;
    var button = el.tagName === "BUTTON" ? el : el.querySelector("button");
    if (button) {
      button.addEventListener("click", openInNewTab);
    }
  });
  schedule();
})();
