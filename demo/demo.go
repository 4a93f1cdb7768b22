// Package demo wires the parts qsgate needs to run with nothing else
// installed: the development OIDC provider (devidp) and the QuickSight
// simulator (qssim), both on loopback, with demo users in each, and the
// settings a gateway needs to use them. One Options.Mapping picks the
// user-mapping mode to show (template, lookup, register, iam): it decides
// which QuickSight users the simulator holds and the QSGATE_USER_MAPPING
// settings. `qsgate demo` and the end-to-end tests use it. It is never for
// production: anyone can sign in as anyone.
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

// Options says where the gateway will be reached and how it maps users.
type Options struct {
	// PublicURL is the gateway's public URL, e.g. http://127.0.0.1:8080. Its
	// host must be loopback; the provider and simulator listen on it too.
	PublicURL string
	// Mapping is the user-mapping mode to show, one of Mappings(); ""
	// means MappingTemplate. It decides which QuickSight users the
	// simulator holds and the QSGATE_USER_MAPPING settings.
	Mapping string
	Logger  *slog.Logger // nil discards
}

// Stack is a running provider and simulator.
type Stack struct {
	// Settings are the QSGATE_* and AWS_* variables for a gateway at
	// PublicURL (all but QSGATE_LISTEN_ADDR), with fresh random secrets.
	Settings  map[string]string
	IssuerURL string
	Sim       *qssim.Server
	Mapping   string // the mode shown, never ""
	Users     []User // Users(Mapping): who can sign in and what they see
	idp       *http.Server
}

// Start starts the provider and the simulator on free loopback ports. An
// unknown Mapping is an error naming the allowed values.
func Start(opts Options) (*Stack, error) {
	mapping, err := checkMapping(opts.Mapping)
	if err != nil {
		return nil, err
	}
	users := usersFor(mapping)
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
	roleARN := "arn:aws:iam::" + AccountID + ":role/" + IAMRoleName
	if mapping == MappingIAM {
		simCfg.Roles = []string{roleARN}
	}
	sim, err := qssim.StartAt(net.JoinHostPort(host, "0"), simCfg)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if u.QuickSight != nil {
			sim.AddUser(*u.QuickSight)
		}
	}

	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		sim.Close()
		return nil, err
	}
	issuer := "http://" + net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	secret := randomString(32)
	var idpUsers []devidp.User
	for _, u := range users {
		idpUsers = append(idpUsers, devidp.User{Subject: u.Subject, Email: u.Email, Name: u.Name,
			PreferredUsername: u.Subject, Description: u.Description, Groups: u.Groups})
	}
	public := pub.Scheme + "://" + pub.Host
	handler, err := devidp.New(devidp.Config{
		Issuer: issuer,
		Clients: []devidp.Client{{ID: ClientID, Secret: secret,
			RedirectURIs: []string{public + "/auth/callback"}, PostLogoutRedirectURIs: []string{public + "/signed-out"}}},
		Users:  idpUsers,
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

	settings := map[string]string{
		"QSGATE_PUBLIC_URL":            public,
		"QSGATE_OIDC_ISSUER":           issuer,
		"QSGATE_OIDC_CLIENT_ID":        ClientID,
		"QSGATE_OIDC_CLIENT_SECRET":    secret,
		"QSGATE_SESSION_KEYS":          randomString(32),
		"QSGATE_QUICKSIGHT_ACCOUNT_ID": AccountID,
		"QSGATE_USER_MAPPING":          mapping,
		"QSGATE_ALLOWED_EMAIL_DOMAINS": AllowedEmailDomain,
		"QSGATE_AUTHOR_GROUPS":         AuthorGroup,
		"QSGATE_ADMIN_GROUPS":          AdminGroup,
		"AWS_REGION":                   qssim.DefaultRegion,
		"AWS_ACCESS_KEY_ID":            simCfg.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":        simCfg.SecretAccessKey,
		"AWS_ENDPOINT_URL_QUICKSIGHT":  sim.URL(),
	}
	if mapping == MappingIAM {
		settings["QSGATE_IAM_ROLE_ARN"] = roleARN
		settings["QSGATE_IAM_REGISTER"] = "true"
		settings["AWS_ENDPOINT_URL_STS"] = sim.URL() // the simulator answers STS too
	}
	return &Stack{
		Settings:  settings,
		IssuerURL: issuer,
		Sim:       sim,
		Mapping:   mapping,
		Users:     users,
		idp:       idp,
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
