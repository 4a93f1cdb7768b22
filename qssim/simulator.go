// Package qssim is a QuickSight simulator: a real HTTP server that speaks the
// Amazon QuickSight REST-JSON wire protocol well enough for the unmodified
// aws-sdk-go-v2 quicksight client, pointed at it with BaseEndpoint or
// AWS_ENDPOINT_URL_QUICKSIGHT.
//
// It provides five operations: GetSessionEmbedUrl,
// GenerateEmbedUrlForRegisteredUser (QuickSightConsole and Dashboard experiences),
// DescribeUser, RegisterUser and ListUsers. Requests must carry a valid SigV4
// signature for the configured credentials; the constraints of the API reference
// are enforced; embed URLs are single-use, valid 5 minutes, and open a small HTML
// page that stands in for the console. Test controls inject faults and latency
// and record every call.
//
// It is not QuickSight: there are no dashboards, analyses, data sets, groups or
// IAM policies; any dashboard or analysis id of the right shape is accepted; IAM
// caller identities are not mapped to users (GetSessionEmbedUrl needs a user-arn);
// users registered through the API are active at once (no invitation flow).
// The credentials are a shared secret for local use: keep it on loopback.
package qssim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Defaults for the zero fields of Config.
const (
	DefaultAccountID       = "111122223333"
	DefaultRegion          = "us-east-1"
	DefaultAccessKeyID     = "AKIAQSSIMULATOREXAMP"
	DefaultSecretAccessKey = "qssim-local-secret-access-key-not-for-aws"
)

// Config configures a Simulator. The zero value is usable.
type Config struct {
	// AccountID is the only account the simulator serves; 12 digits.
	// Default DefaultAccountID.
	AccountID string
	// Region is the region of the endpoint, checked in the SigV4 scope.
	// Default DefaultRegion.
	Region string
	// IdentityRegion, when set and different from Region, makes DescribeUser,
	// RegisterUser and ListUsers refuse like QuickSight outside the account's
	// identity region. It is also the region in user ARNs. Default Region.
	IdentityRegion string
	// AccessKeyID and SecretAccessKey are the only credentials accepted. Set
	// both or neither. Default DefaultAccessKeyID and DefaultSecretAccessKey.
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken, when set, must arrive in X-Amz-Security-Token (temporary
	// credentials). Default none, and then a request carrying one is refused.
	SessionToken string
	// Now is the simulator's clock, used for the 15-minute SigV4 window and the
	// 5-minute life of embed URLs. Default time.Now.
	Now func() time.Time
	// Logger receives one record per API call and per embed URL opened. Codes
	// and embed URLs are never logged. Default discards.
	Logger *slog.Logger
}

// User is a QuickSight user known to the simulator.
type User struct {
	UserName string
	Email    string
	// Role is ADMIN, AUTHOR or READER (or a _PRO / RESTRICTED_ variant).
	// Empty means READER.
	Role string
	// Namespace defaults to "default".
	Namespace string
	// IdentityType is QUICKSIGHT or IAM. Empty means QUICKSIGHT.
	IdentityType string
	// Inactive users exist but cannot sign in; the zero value is active.
	Inactive bool
}

// Call is one API request as the simulator saw it.
type Call struct {
	Operation       string
	AccountID       string
	EntryPoint      string // embed calls: the entry point asked for (or derived)
	SessionLifetime int64  // embed calls: minutes, after defaulting
	UserArn         string
	AccessKeyID     string // from the SigV4 credential scope
	Region          string // from the SigV4 credential scope
	Status          int    // HTTP status answered; 0 if the client went away first
	ErrorCode       string
	RequestID       string
}

// Simulator is the QuickSight simulator as an http.Handler. Its methods are
// safe for concurrent use. Embed URLs are built on the base URL set with
// SetBaseURL; without one, on the scheme and Host of the API request, so
// New plus httptest.NewServer works as is.
type Simulator struct {
	cfg Config
	log *slog.Logger
	mux *http.ServeMux

	mu         sync.Mutex
	baseURL    string
	users      map[string]*userRecord // by ARN
	sessions   map[string]*embedSession
	calls      []Call
	userFaults map[string]string // user ARN -> error code
	failNext   int
	failCode   string
	latency    time.Duration
}

type userRecord struct {
	User
	arn         string
	principalID string
}

var accountPattern = regexp.MustCompile(`^[0-9]{12}$`)

// New returns a Simulator for cfg, or an error naming every invalid field.
func New(cfg Config) (*Simulator, error) {
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultAccountID
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.IdentityRegion == "" {
		cfg.IdentityRegion = cfg.Region
	}
	if cfg.AccessKeyID == "" && cfg.SecretAccessKey == "" {
		cfg.AccessKeyID, cfg.SecretAccessKey = DefaultAccessKeyID, DefaultSecretAccessKey
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var problems []string
	if !accountPattern.MatchString(cfg.AccountID) {
		problems = append(problems, fmt.Sprintf("AccountID: must be 12 digits, got %q", cfg.AccountID))
	}
	if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
		problems = append(problems, "AccessKeyID, SecretAccessKey: set both or neither")
	}
	if len(problems) > 0 {
		return nil, errors.New("qssim: invalid configuration:\n  " + strings.Join(problems, "\n  "))
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Simulator{
		cfg:        cfg,
		log:        log,
		users:      make(map[string]*userRecord),
		sessions:   make(map[string]*embedSession),
		userFaults: make(map[string]string),
	}
	s.mux = s.routes()
	return s, nil
}

// routes is the table of contents: the real QuickSight paths, then the page
// that stands in for the console.
func (s *Simulator) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /accounts/{account}/session-embed-url", s.api("GetSessionEmbedUrl", s.getSessionEmbedURL))
	mux.Handle("POST /accounts/{account}/embed-url/registered-user", s.api("GenerateEmbedUrlForRegisteredUser", s.generateEmbedURLForRegisteredUser))
	mux.Handle("GET /accounts/{account}/namespaces/{namespace}/users/{user}", s.api("DescribeUser", s.describeUser))
	mux.Handle("POST /accounts/{account}/namespaces/{namespace}/users", s.api("RegisterUser", s.registerUser))
	mux.Handle("GET /accounts/{account}/namespaces/{namespace}/users", s.api("ListUsers", s.listUsers))
	mux.HandleFunc("GET /embed/{session}/{path...}", s.openEmbedURL)
	mux.Handle("/", s.api("", func(*http.Request, []byte, *Call) (map[string]any, *apiError) {
		return nil, newError(ErrUnknownOperation, "The simulator does not implement this operation.")
	}))
	return mux
}

// ServeHTTP serves the QuickSight API and the embed pages.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// SetBaseURL sets the origin of the embed URLs, e.g. "http://127.0.0.1:8443".
// Empty means: take it from each API request.
func (s *Simulator) SetBaseURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = strings.TrimSuffix(u, "/")
}

// UserARN returns the ARN QuickSight gives userName in namespace.
func (s *Simulator) UserARN(namespace, userName string) string {
	if namespace == "" {
		namespace = "default"
	}
	return fmt.Sprintf("arn:aws:quicksight:%s:%s:user/%s/%s", s.cfg.IdentityRegion, s.cfg.AccountID, namespace, userName)
}

// AddUser adds u, or replaces the user of the same namespace and name, and
// returns its ARN.
func (s *Simulator) AddUser(u User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.putUserLocked(u).arn
}

// putUserLocked applies the User defaults and stores u; s.mu must be held.
func (s *Simulator) putUserLocked(u User) *userRecord {
	if u.Namespace == "" {
		u.Namespace = "default"
	}
	if u.Role == "" {
		u.Role = "READER"
	}
	if u.IdentityType == "" {
		u.IdentityType = "QUICKSIGHT"
	}
	rec := &userRecord{User: u, arn: s.UserARN(u.Namespace, u.UserName), principalID: "qssim/" + randomHex(8)}
	s.users[rec.arn] = rec
	return rec
}

// FailUser makes every call for userArn fail with errorCode, until ClearFaults.
// An empty errorCode removes the fault.
func (s *Simulator) FailUser(userArn, errorCode string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if errorCode == "" {
		delete(s.userFaults, userArn)
		return
	}
	s.userFaults[userArn] = errorCode
}

// FailNext makes the next n correctly signed API calls fail with errorCode.
// Note the SDK retries throttling and 5xx answers: each attempt is a call.
func (s *Simulator) FailNext(n int, errorCode string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failCode = max(n, 0), errorCode
}

// SetLatency makes each API call wait d before it is handled, or until the
// client gives up.
func (s *Simulator) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// ClearFaults removes user faults, pending FailNext faults and latency.
func (s *Simulator) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.userFaults)
	s.failNext, s.failCode, s.latency = 0, "", 0
}

// Calls returns a copy of the API calls seen so far, oldest first.
func (s *Simulator) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Reset forgets the calls and clears the faults. Users and issued embed URLs stay.
func (s *Simulator) Reset() {
	s.ClearFaults()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// operation handles one API call after signature, fault and account checks.
// It fills in c and returns the success body without RequestId.
type operation func(r *http.Request, body []byte, c *Call) (map[string]any, *apiError)

// api wraps an operation with what every QuickSight call shares: latency,
// SigV4, injected faults, the account check, request ids, JSON errors, the
// call record and the log.
func (s *Simulator) api(name string, op operation) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := Call{Operation: name, AccountID: r.PathValue("account"), RequestID: newRequestID()}
		out, apiErr := s.handle(r, op, &c)
		if r.Context().Err() != nil {
			s.record(r.Context(), c)
			return
		}
		status := http.StatusOK
		if apiErr != nil {
			status = apiErr.status()
			c.ErrorCode = apiErr.code
			w.Header().Set("X-Amzn-ErrorType", apiErr.code)
			out = map[string]any{"Message": apiErr.message}
		}
		out["RequestId"] = c.RequestID
		c.Status = status
		s.record(r.Context(), c)

		body, err := json.Marshal(out)
		if err != nil {
			// Only maps of strings, numbers and user records get here.
			panic(fmt.Sprintf("qssim: encode response: %v", err))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-Requestid", c.RequestID)
		w.WriteHeader(status)
		_, _ = w.Write(body) // a client that hung up does not need the body
	})
}

func (s *Simulator) handle(r *http.Request, op operation, c *Call) (map[string]any, *apiError) {
	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return nil, nil
		case <-t.C:
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, newError(ErrInvalidParameterValue, "The request body could not be read.")
	}
	if e := s.verifySignature(r, body, c); e != nil {
		return nil, e
	}
	s.mu.Lock()
	code := ""
	if s.failNext > 0 {
		s.failNext--
		code = s.failCode
	}
	s.mu.Unlock()
	if code != "" {
		return nil, faultError(code)
	}
	if c.Operation != "" && c.AccountID != s.cfg.AccountID {
		return nil, newError(ErrAccessDenied, fmt.Sprintf("User is not authorized to access QuickSight account %q.", c.AccountID))
	}
	return op(r, body, c)
}

func (s *Simulator) record(ctx context.Context, c Call) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	level := slog.LevelInfo
	if c.Status >= 500 {
		level = slog.LevelError
	}
	s.log.LogAttrs(ctx, level, "quicksight call",
		slog.String("operation", c.Operation),
		slog.Int("status", c.Status),
		slog.String("error_code", c.ErrorCode),
		slog.String("request_id", c.RequestID),
		slog.String("user_arn", c.UserArn),
	)
}

// userFault returns the injected fault for arn, if any.
func (s *Simulator) userFault(arn string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code, ok := s.userFaults[arn]; ok {
		return faultError(code)
	}
	return nil
}

func (s *Simulator) now() time.Time { return s.cfg.Now() }

// newRequestID returns a random UUID (version 4), the shape of AWS request ids.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
