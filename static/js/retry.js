// retry.js: an error page that says QuickSight (or sign-in) will answer
// again soon reloads itself after its delay, counting down, unless the
// user presses Stop (a time limit the user can turn off, WCAG 2.2.1).
// Without script the page stays, with its Try again link.
(function () {
  "use strict";
  var note = document.getElementById("auto-retry");
  var text = document.getElementById("auto-retry-text");
  var stop = document.getElementById("auto-retry-stop");
  if (!note || !text || !stop) {
    return;
  }
  var left = parseInt(note.getAttribute("data-seconds"), 10);
  if (!(left > 0)) {
    return;
  }
  function say() {
    text.textContent = "Trying again in " + left + (left === 1 ? " second." : " seconds.");
  }
  say();
  note.hidden = false;
  var timer = setInterval(function () {
    left -= 1;
    if (left <= 0) {
      clearInterval(timer);
      window.location.reload();
      return;
    }
    say();
  }, 1000);
  stop.addEventListener("click", function () {
    clearInterval(timer);
    text.textContent = "Stopped. Use Try again when you are ready.";
    stop.hidden = true;
  });
})();
