package main

import (
	"net"
	"net/http"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qsgate/qsgate/internal/devkit/idp"
	"github.com/qsgate/qsgate/internal/devkit/qssim"
)

const (
	accountID   = "111122223333"
	clientID    = "qsgate-load"
	authorGroup = "qs-authors"
	domain      = "example.com"
	iamRole     = "QuickSightEmbed"
)

// stack is what the load runs against: the simulator and the provider in
// this process, the gateway in a child process, so /proc shows the
// gateway's own memory and CPU.
type stack struct {
	mapping  string
	users    []user
	simCfg   qssim.Config
	sim      atomic.Pointer[qssim.Simulator] // swapped for a fresh one by newSimulator
	simURL   string
	simConns atomic.Int64 // connections the simulator accepted
	idpURL   string
	idpHits  *hitCounter
	gateway  string // the gateway's public URL
	metrics  string // the gateway's /metrics URL
	logPath  string // the gateway's stdout and stderr
	cmd      *exec.Cmd
	exited   chan error
	servers  []*http.Server
}

// startSimAndProvider starts the simulator and the provider on loopback
// with users, for a gateway that will listen at public.
func startSimAndProvider(mapping, public string, users []user) (*stack, error) {
	s := &stack{mapping: mapping, users: users, gateway: public, simCfg: qssim.Config{AccountID: accountID}}
	if mapping == "iam" {
		s.simCfg.Roles = []string{"arn:aws:iam::" + accountID + ":role/" + iamRole}
	}
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.simURL = "http://" + simLn.Addr().String()
	if err := s.newSimulator(false); err != nil {
		simLn.Close()
		return nil, err
	}
	s.serve(simLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.sim.Load().ServeHTTP(w, r)
	}), func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.simConns.Add(1)
		}
	})

	idpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.idpURL = "http://" + idpLn.Addr().String()
	var idpUsers []idp.User
	for _, u := range users {
		idpUsers = append(idpUsers, idp.User{Subject: u.subject, Email: u.email, Name: u.subject, Groups: []string{authorGroup}})
	}
	provider, err := idp.New(idp.Config{
		Issuer: s.idpURL,
		Clients: []idp.Client{{ID: clientID, Secret: secret,
			RedirectURIs: []string{public + "/auth/callback"}, PostLogoutRedirectURIs: []string{public + "/signed-out"}}},
		Users: idpUsers,
	})
	if err != nil {
		return nil, err
	}
	s.idpHits = &hitCounter{next: provider, hits: map[string]int{}}
	s.serve(idpLn, s.idpHits, nil)
	return s, nil
}

// simulator is the simulator answering now.
func (s *stack) simulator() *qssim.Simulator { return s.sim.Load() }

// newSimulator puts a fresh simulator behind the same address, holding
// the users as they are before their first view, or after it (warm: the
// users register mode registered are there too), and the bare SDK users.
//
// A fresh one per level, because qssim keeps every embed URL it issued for
// an hour and scans them all, under its lock, on each issue: over a long run
// the simulator, not the gateway, would slow down level after level. In iam
// mode the gateway holds role credentials only the first simulator knows, so
// there it is never renewed (see renewable).
func (s *stack) newSimulator(warm bool) error {
	sim, err := qssim.New(s.simCfg)
	if err != nil {
		return err
	}
	sim.SetBaseURL(s.simURL)
	for _, u := range s.users {
		if q := u.quickSight(s.mapping, warm); q != nil {
			sim.AddUser(*q)
		}
		sim.AddUser(u.bareUser())
	}
	s.sim.Store(sim)
	return nil
}

// renewable reports whether newSimulator may replace the simulator after
// the sign-ins.
func (s *stack) renewable() bool { return s.mapping != "iam" }

func (s *stack) serve(ln net.Listener, h http.Handler, state func(net.Conn, http.ConnState)) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ConnState: state}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }() // returns when closed by stop
}

// hitCounter counts the provider's requests by path, to show what a
// sign-in costs it and that discovery and keys are fetched once.
type hitCounter struct {
	next http.Handler
	mu   sync.Mutex
	hits map[string]int
}

func (h *hitCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.hits[r.Method+" "+r.URL.Path]++
	h.mu.Unlock()
	h.next.ServeHTTP(w, r)
}

func (h *hitCounter) snapshot() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int, len(h.hits))
	for k, v := range h.hits {
		out[k] = v
	}
	return out
}
