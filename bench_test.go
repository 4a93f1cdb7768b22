package main

import (
	"testing"
)

// unlimited lifts the AWS call budget (5 a second by default), so the
// benchmarks measure the gateway, not its admission control.
var unlimited = map[string]string{"QSGATE_LOG_LEVEL": "warn", "QSGATE_QUICKSIGHT_MAX_RPS": "1000", "QSGATE_QUICKSIGHT_MAX_INFLIGHT": "1000"}

// BenchmarkEmbedPage is one signed-in page view of /embed/start through the
// whole stack on loopback: session cookie check, user mapping, a signed
// GetSessionEmbedUrl to the simulator through the real AWS SDK, and the
// rendered page. Run: go test -run '^$' -bench . -benchmem
func BenchmarkEmbedPage(b *testing.B) {
	s := startStack(b, unlimited)
	br := newBrowser(b)
	s.signIn(br, alice, "/")
	for b.Loop() {
		if p := br.get(s.url + "/embed/start"); p.status != 200 {
			b.Fatalf("status %d", p.status)
		}
	}
}

// BenchmarkHomePage is a signed-in view of / (no AWS call): the gateway's
// own cost per page.
func BenchmarkHomePage(b *testing.B) {
	s := startStack(b, unlimited)
	br := newBrowser(b)
	s.signIn(br, alice, "/")
	for b.Loop() {
		if p := br.get(s.url + "/"); p.status != 200 {
			b.Fatalf("status %d", p.status)
		}
	}
}

// BenchmarkSignIn is a whole sign-in: /login, the provider, the callback
// (code exchange, ID token verification, userinfo) and the page after.
func BenchmarkSignIn(b *testing.B) {
	s := startStack(b, unlimited)
	for b.Loop() {
		br := newBrowser(b)
		if p := s.signIn(br, alice, "/"); p.status != 200 {
			b.Fatalf("status %d", p.status)
		}
	}
}
