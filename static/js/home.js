// qsgate's home page: the filter box over the list of dashboards and
// analyses. Without script the whole list shows.
(function () {
  "use strict";
  var box = document.getElementById("content-filter");
  var list = document.getElementById("content-list");
  var none = document.getElementById("content-none");
  if (!box || !list) {
    return;
  }
  box.addEventListener("input", function () {
    var q = box.value.trim().toLowerCase();
    var shown = 0;
    Array.prototype.forEach.call(list.children, function (li) {
      var match = !q || (li.dataset.name || "").toLowerCase().indexOf(q) >= 0;
      li.hidden = !match;
      if (match) {
        shown++;
      }
    });
    if (none) {
      none.hidden = shown > 0;
    }
  });
})();
