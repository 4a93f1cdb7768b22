// Package e2e holds qsgate's end-to-end tests: the real gateway binary,
// built once per run and started as separate processes, signed in to through
// the development OIDC provider and embedding the QuickSight simulator (both
// from package demo), driven by a real browser (chromium, through chromedp)
// and run behind a real load balancer (nginx). It provides no code of its
// own; everything is in its _test.go files.
//
// What the tests prove:
//
//   - browser_test.go: a user signs in on the provider's page, every kind of
//     console page opens the simulator for the right user and entry point, a
//     reload asks QuickSight for a new URL, sign-out works, readers and users
//     without a QuickSight user get the right refusal page, and the browser
//     reports no Content Security Policy or mixed-content problem.
//     Screenshots go to e2e/out/.
//   - embedpage_test.go: against both embedding APIs (session and
//     registered-user), the embed page's slim bar (portal, Home, Sign out),
//     a console session that ends or the Reload button swapping in a fresh
//     console without reloading the portal, the sign-in-again link when the
//     portal session is gone (back to the same page), deep-link parameters
//     reaching the dashboard, the home page's list and its filter; and a
//     reader opening a dashboard in the Dashboard experience but not the
//     console. Its screenshots embed-page.png and home-list.png are the
//     README's: -docs copies them to docs/embed.png and docs/home.png.
//   - loadbalancer_test.go: two gateways behind nginx share sign-ins
//     (a sign-in started on one finishes on the other), page views alternate,
//     shutdown drains an in-flight request, a rolling restart under load
//     fails no request, and forged forwarding headers never reach a redirect.
//   - accessibility_test.go: axe-core (WCAG 2.0 and 2.1 A and AA, and best
//     practices) finds no violation on any page of the portal in the states
//     the browser tests reach: sign-in (the provider's), home (a list,
//     filtered to nothing, a reader's, nothing shared), embed (the console,
//     the sign-in-again notice), the 403, 404 and 400 pages, the 503 page
//     that retries itself (stopped), signed out.
//   - identitycenter_test.go: the demo in identity-center mode: a user signs
//     in on the provider's page and the console is their IAM Identity
//     Center user's, from one CreateTokenWithIAM, one AssumeRole and one
//     GenerateEmbedUrlForRegisteredUserWithIdentity; a user Identity Center
//     does not know gets the page saying so (identity-center.png).
//   - newtab_test.go: "Open in a new tab" opens a second page on a fresh
//     embed URL (one more embed call, never the frame's URL), with no way
//     back to the portal (noopener).
//   - requirements_test.go: finding chromium, nginx and axe-core, and the
//     skips.
//
// The gateway binary is built once per run (with -race when the tests run
// with -race) and started as `qsgate serve` with the demo settings in its
// environment; every process the tests start is killed at the end, also
// when a test fails.
//
// Run them with
//
//	QSGATE_E2E=1 go test ./e2e/
//
// and refresh the README's screenshots with
//
//	QSGATE_E2E=1 go test ./e2e/ -run TestEmbedPage -docs
//
// They need chromium (/usr/bin/chromium: apt-get install chromium) and nginx
// (apt-get install nginx; /usr/sbin/nginx is found outside PATH too), or the
// paths in QSGATE_E2E_CHROMIUM and QSGATE_E2E_NGINX; TestAccessibility also
// needs axe-core's axe.min.js, which `npm ci --prefix e2e` puts in
// e2e/node_modules/ (ignored by git) at the version e2e/package-lock.json
// pins, or the path in QSGATE_E2E_AXE. Without them the tests skip, saying
// what is missing; with QSGATE_E2E=1 they fail instead, so CI cannot pass
// without running them. They always skip with -short.
//
// Logs of every gateway, nginx and the demo provider and simulator, and the
// screenshots, are written under e2e/out/ (ignored by git); a failing test
// prints the tail of the logs.
package e2e
