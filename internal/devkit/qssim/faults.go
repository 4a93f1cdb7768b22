package qssim

import (
	"net"
	"net/http"
)

// Break is a way for an answer to go wrong below the API: not an AWS error
// but a broken wire.
type Break int

const (
	// BreakMalformedJSON answers 200 with a body that is not JSON.
	BreakMalformedJSON Break = iota + 1
	// BreakReset starts a 200 answer, then resets the TCP connection.
	BreakReset
)

// BreakNext breaks the next n QuickSight API answers the way how says (the
// call is recorded with ErrorCode "Break"). ClearFaults and Reset stop it.
// Note the SDK retries a reset connection: each attempt is an answer.
func (s *Simulator) BreakNext(n int, how Break) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.breakNext, s.breakHow = max(n, 0), how
}

// takeBreak reports the break for this answer, if any.
func (s *Simulator) takeBreak() Break {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.breakNext == 0 {
		return 0
	}
	s.breakNext--
	return s.breakHow
}

// writeBroken writes a broken answer; it reports false when the
// connection could not be taken over (then nothing was written).
func writeBroken(w http.ResponseWriter, how Break) bool {
	switch how {
	case BreakMalformedJSON:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"EmbedUrl": "https://`)) // cut short: not JSON
		return true
	case BreakReset:
		hj, ok := w.(http.Hijacker)
		if !ok {
			return false
		}
		conn, buf, err := hj.Hijack()
		if err != nil {
			return false
		}
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"EmbedUrl\":")
		_ = buf.Flush()
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0) // close sends RST, not FIN
		}
		_ = conn.Close()
		return true
	}
	return false
}
