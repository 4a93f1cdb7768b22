package qssim

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server is a Simulator listening on its own address. The embedded
// *Simulator gives it all the test controls.
type Server struct {
	*Simulator
	srv *http.Server
	url string
}

// Start starts a simulator on a free loopback port (127.0.0.1:0).
func Start(cfg Config) (*Server, error) {
	return StartAt("127.0.0.1:0", cfg)
}

// StartAt starts a simulator listening on addr. Its embed URLs use its own
// base URL, http://{listen address}.
func StartAt(addr string, cfg Config) (*Server, error) {
	sim, err := New(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("qssim: listen on %s: %w", addr, err)
	}
	s := &Server{
		Simulator: sim,
		srv:       &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second},
		url:       "http://" + ln.Addr().String(),
	}
	sim.SetBaseURL(s.url)
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			sim.log.Error("qssim server stopped", slog.Any("error", err))
		}
	}()
	return s, nil
}

// URL returns the base URL, e.g. "http://127.0.0.1:41234": the BaseEndpoint
// (or AWS_ENDPOINT_URL_QUICKSIGHT, AWS_ENDPOINT_URL_STS) for the SDK clients.
func (s *Server) URL() string { return s.url }

// Close stops the server at once, closing open connections.
func (s *Server) Close() error { return s.srv.Close() }
