package qssim

import (
	"testing"
	"time"
)

// TestSessionRetention: an opened session is kept for its whole lifetime
// (up to 10 hours), so its page is not told "ended" an hour in; unopened
// URLs are forgotten after an hour.
func TestSessionRetention(t *testing.T) {
	t0 := time.Now()
	opened := func(minutes int64) embedSession {
		return embedSession{embedRequest: embedRequest{lifetime: minutes}, issuedAt: t0, used: true, openedAt: t0.Add(time.Minute)}
	}
	tests := []struct {
		name  string
		sess  embedSession
		after time.Duration
		want  bool
	}{
		{"unopened, 59 minutes", embedSession{issuedAt: t0}, 59 * time.Minute, false},
		{"unopened, 61 minutes", embedSession{issuedAt: t0}, 61 * time.Minute, true},
		{"opened for 10 hours, 2 hours in", opened(600), 2 * time.Hour, false},
		{"opened for 10 hours, an hour after", opened(600), 11*time.Hour + time.Minute, false},
		{"opened for 10 hours, over an hour after", opened(600), 11*time.Hour + 2*time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sess.forgettable(t0.Add(tt.after)); got != tt.want {
				t.Errorf("forgettable after %v = %v, want %v", tt.after, got, tt.want)
			}
		})
	}
}
