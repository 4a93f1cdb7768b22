package redistest

import "testing"

func TestStartStopRestart(t *testing.T) {
	s := Start(t)
	if !ping(s.Addr(), s.pass) {
		t.Fatal("not answering after Start")
	}
	s.Stop()
	if ping(s.Addr(), s.pass) {
		t.Fatal("answering after Stop")
	}
	s.Restart()
	if !ping(s.Addr(), s.pass) {
		t.Fatal("not answering after Restart")
	}
	if ping(s.Addr(), "wrong") {
		t.Fatal("answers without the password")
	}
}
