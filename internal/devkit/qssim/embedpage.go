package qssim

import "html/template"

// pageTemplate is the page an embed URL opens, standing in for QuickSight's
// console or dashboard, and the page of a refused URL. Tests read its
// element ids:
//
//	#qs-banner, #qs-experience ("QuickSightConsole", "Dashboard",
//	"GenerativeQnA" or "DashboardVisual"), #qs-api (the operation that
//	issued the URL), #qs-user-arn, #qs-user-name, #qs-role,
//	#qs-entry-point, #qs-session-lifetime (minutes);
//	#qs-features, a list of <li data-feature="NAME">, the
//	FeatureConfigurations as sent (Call.Features), when any were sent;
//	Generative Q&A: #qs-topic-id (empty for the list of topics);
//	one visual: #qs-visual-dashboard-id, #qs-sheet-id, #qs-visual-id;
//	dashboards: #qs-dashboard-id, and #qs-parameters, a list of
//	<li data-name data-value>NAME=VALUE</li> read from the URL's fragment
//	(#p.NAME=VALUE&..., as QuickSight takes dashboard parameters), marked
//	data-ready="true" once read;
//	once the session is over: #qs-session-ended (data-reason "ended" or
//	"expired") in place of the content;
//	refused URLs: #qs-error, #qs-error-message.
//
// The script is the page's only one; it runs under a nonce and polls only
// the simulator's own origin.
var pageTemplate = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>QuickSight simulator - demo</title>
<style>
  body { margin: 0; font-family: system-ui, sans-serif; color: #16191f; background: #f2f3f3; }
  #qs-banner { background: #232f3e; color: #fff; padding: 12px 20px; font-weight: 600; }
  main { padding: 20px; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 8px 16px; }
  dt { font-weight: 600; }
  dd { margin: 0; font-family: ui-monospace, monospace; word-break: break-all; }
  .error { color: #d13212; }
</style>
</head>
<body>
<div id="qs-banner" role="banner">QuickSight simulator - demo</div>
<main>{{end}}

{{define "session"}}{{template "head"}}
<h1>{{if eq .Experience "Dashboard"}}Embedded dashboard{{else if eq .Experience "GenerativeQnA"}}Embedded Generative Q&amp;A{{else if eq .Experience "DashboardVisual"}}Embedded visual{{else}}Embedded console{{end}}</h1>
<p>This page stands in for Amazon QuickSight. Nothing here is real data.</p>
<dl>
  <dt>Experience</dt><dd id="qs-experience">{{.Experience}}</dd>
  <dt>Issued by</dt><dd id="qs-api">{{.API}}</dd>
  <dt>User ARN</dt><dd id="qs-user-arn">{{.UserArn}}</dd>
  <dt>User name</dt><dd id="qs-user-name">{{.UserName}}</dd>
  <dt>Role</dt><dd id="qs-role">{{.Role}}</dd>
  <dt>Entry point</dt><dd id="qs-entry-point">{{.EntryPoint}}</dd>
  <dt>Session lifetime (minutes)</dt><dd id="qs-session-lifetime">{{.SessionLifetime}}</dd>
{{- with .Features}}
  <dt>Features</dt><dd><ul id="qs-features">{{range .}}<li data-feature="{{.}}">{{.}}</li>{{end}}</ul></dd>
{{- end}}
{{- if eq .Experience "GenerativeQnA"}}
  <dt>Topic</dt><dd id="qs-topic-id">{{.TopicID}}</dd>
{{- end}}
{{- with .Visual}}
  <dt>Dashboard</dt><dd id="qs-visual-dashboard-id">{{.DashboardID}}</dd>
  <dt>Sheet</dt><dd id="qs-sheet-id">{{.SheetID}}</dd>
  <dt>Visual</dt><dd id="qs-visual-id">{{.VisualID}}</dd>
{{- end}}
{{- if .IsDashboard}}
  <dt>Dashboard</dt><dd id="qs-dashboard-id">{{.DashboardID}}</dd>
  <dt>Parameters</dt><dd><ul id="qs-parameters"></ul>
    <small>Read from the URL fragment (#p.NAME=VALUE), which never reaches a server.</small></dd>
{{- end}}
</dl>
</main>
<script nonce="{{.Nonce}}">
(function () {
  "use strict";
  var statusURL = {{.StatusURL}};
  var over = false;

  // The session is over: show it, and tell the portal. Real QuickSight
  // shows its own page and sends no message; this is the simulator's.
  function end(reason) {
    if (over) { return; }
    over = true;
    var main = document.querySelector("main");
    main.textContent = "";
    var box = document.createElement("section");
    box.id = "qs-session-ended";
    box.setAttribute("data-reason", reason);
    var h = document.createElement("h1");
    h.textContent = "Your session has expired";
    var p = document.createElement("p");
    p.textContent = reason === "expired"
      ? "The session lifetime has passed. Reload the portal page to sign in again."
      : "The session was ended. Reload the portal page to sign in again.";
    box.appendChild(h);
    box.appendChild(p);
    main.appendChild(box);
    window.parent.postMessage({"qsgate": "session-ended"}, "*");
  }

  function poll() {
    fetch(statusURL, {cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.state === "active") { setTimeout(poll, 500); } else { end(s.state); }
      }, function () { setTimeout(poll, 500); });
  }
  setTimeout(poll, 500);

  // Dashboard parameters arrive in the fragment: #p.Region=EMEA&p.Year=2026.
  function showParameters() {
    var list = document.getElementById("qs-parameters");
    if (!list) { return; }
    list.textContent = "";
    new URLSearchParams(location.hash.slice(1)).forEach(function (value, key) {
      if (key.indexOf("p.") !== 0) { return; }
      var li = document.createElement("li");
      li.setAttribute("data-name", key.slice(2));
      li.setAttribute("data-value", value);
      li.textContent = key.slice(2) + "=" + value;
      list.appendChild(li);
    });
    list.setAttribute("data-ready", "true");
  }
  showParameters();
  window.addEventListener("hashchange", showParameters);
})();
</script>
</body>
</html>
{{end}}

{{define "error"}}{{template "head"}}
<h1 class="error" id="qs-error">Sign-in failed</h1>
<p id="qs-error-message">{{.}}</p>
<p>Embed URLs work once, within 5 minutes. Ask the portal for a new one.</p>
</main>
</body>
</html>
{{end}}
`))
