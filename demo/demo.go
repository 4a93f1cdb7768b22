// Package demo wires the parts qsgate needs to run with nothing else
// installed: the development OIDC provider (devidp) and the QuickSight
// simulator (qssim), both on loopback, with demo users in each, and the
// settings a gateway needs to use them. `qsgate demo` and the end-to-end
// tests use it. It is never for production: anyone can sign in as anyone.
package demo

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/qsgate/qsgate/devidp"
	"github.com/qsgate/qsgate/qssim"
)

// AccountID is the simulated QuickSight account.
const AccountID = "111122223333"

// ClientID is the gateway's client id at the demo provider.
const ClientID = "qsgate-demo"

// User is a demo account: who signs in, and what QuickSight knows of them.
type User struct {
	Subject, Email, Name string
	Role                 string // ADMIN, AUTHOR, READER, or "" for no QuickSight user
	Description          string
}

// Users are the demo accounts, one of each kind a portal meets.
var Users = []User{
	{"alice", "alice@example.com", "Alice Author", "AUTHOR", "author: opens the console"},
	{"adam", "adam@example.com", "Adam Admin", "ADMIN", "admin: opens the console"},
	{"rita", "rita@example.com", "Rita Reader", "READER", "reader: QuickSight refuses readers the console"},
	{"nora", "nora@example.com", "Nora Newcomer", "", "no QuickSight user yet: sees the 403 page"},
}

// Options says where the gateway will be reached.
type Options struct {
	// PublicURL is the gateway's public URL, e.g. http://127.0.0.1:8080. Its
	// host must be loopback; the provider and simulator listen on it too.
	PublicURL string
	Logger    *slog.Logger // nil discards
}

// Stack is a running provider and simulator.
type Stack struct {
	// Settings are the QSGATE_* and AWS_* variables for a gateway at
	// PublicURL (all but QSGATE_LISTEN_ADDR), with fresh random secrets.
	Settings  map[string]string
	IssuerURL string
	Sim       *qssim.Server
	idp       *http.Server
}

// Start starts the provider and the simulator on free loopback ports.
func Start(opts Options) (*Stack, error) {
	pub, err := url.Parse(opts.PublicURL)
	if err != nil || pub.Host == "" {
		return nil, fmt.Errorf("demo: bad public URL %q", opts.PublicURL)
	}
	host := pub.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("demo: the demo runs on loopback only (127.0.0.1 or localhost), got %q", host)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	simCfg := qssim.Config{
		AccountID:       AccountID,
		AccessKeyID:     "AKIADEMO" + strings.ToUpper(hex.EncodeToString(randomBytes(6))),
		SecretAccessKey: randomString(30),
		Logger:          log.With("component", "qssim"),
	}
	sim, err := qssim.StartAt(net.JoinHostPort(host, "0"), simCfg)
	if err != nil {
		return nil, err
	}
	for _, u := range Users {
		if u.Role != "" {
			sim.AddUser(qssim.User{UserName: u.Email, Email: u.Email, Role: u.Role})
		}
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		sim.Close()
		return nil, err
	}
	issuer := "http://" + net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	secret := randomString(32)
	var users []devidp.User
	for _, u := range Users {
		users = append(users, devidp.User{Subject: u.Subject, Email: u.Email, Name: u.Name,
			PreferredUsername: u.Subject, Description: u.Description})
	}
	public := pub.Scheme + "://" + pub.Host
	handler, err := devidp.New(devidp.Config{
		Issuer: issuer,
		Clients: []devidp.Client{{ID: ClientID, Secret: secret,
			RedirectURIs: []string{public + "/auth/callback"}, PostLogoutRedirectURIs: []string{public + "/signed-out"}}},
		Users:  users,
		Logger: log.With("component", "devidp"),
	})
	if err != nil {
		ln.Close()
		sim.Close()
		return nil, err
	}
	idp := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := idp.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo provider stopped", "err", err)
		}
	}()

	return &Stack{
		IssuerURL: issuer,
		Sim:       sim,
		idp:       idp,
		Settings: map[string]string{
			"QSGATE_PUBLIC_URL":            public,
			"QSGATE_OIDC_ISSUER":           issuer,
			"QSGATE_OIDC_CLIENT_ID":        ClientID,
			"QSGATE_OIDC_CLIENT_SECRET":    secret,
			"QSGATE_SESSION_KEYS":          randomString(32),
			"QSGATE_QUICKSIGHT_ACCOUNT_ID": AccountID,
			"AWS_REGION":                   qssim.DefaultRegion,
			"AWS_ACCESS_KEY_ID":            simCfg.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY":        simCfg.SecretAccessKey,
			"AWS_ENDPOINT_URL_QUICKSIGHT":  sim.URL(),
		},
	}, nil
}

// Close stops the provider and the simulator.
func (s *Stack) Close() {
	s.idp.Close()
	s.Sim.Close()
}

// randomString is n random bytes, base64url: fresh per run, so a demo's
// keys and secrets are never the same twice.
func randomString(n int) string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(n))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}
