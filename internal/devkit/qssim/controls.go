package qssim

import (
	"slices"
	"time"

	"golang.org/x/time/rate"
)

// The test controls: injected faults, latency, the rate limit and the call record.

// Call is one API request as the simulator saw it, QuickSight or STS.
type Call struct {
	Operation       string // e.g. "GetSessionEmbedUrl", "AssumeRole"; "" if unknown
	AccountID       string // QuickSight calls: from the path; empty for STS
	EntryPoint      string // embed calls: the entry point asked for (or derived)
	SessionLifetime int64  // embed calls: minutes, after defaulting
	// Experience is GenerateEmbedUrlForRegisteredUser's experience as asked
	// for: "QuickSightConsole", "Dashboard", "GenerativeQnA",
	// "DashboardVisual" (or another name, refused); "" when not exactly one
	// was named, and for other operations, GetSessionEmbedUrl included.
	Experience string
	// Features are the experience's FeatureConfigurations as sent, sorted:
	// each member by its field name ("StatePersistence", "Bookmarks",
	// "AmazonQInQuickSight.DataQnA"), with "=false" when it was sent with
	// Enabled false. nil when no FeatureConfigurations was sent (or the
	// call was refused before it was read).
	Features []string
	// AllowedDomains are GenerateEmbedUrlForRegisteredUser's AllowedDomains
	// as sent (also when refused); nil when none were sent.
	AllowedDomains []string
	UserArn        string // embed and user calls: the user; searches: the principal filtered on
	AccessKeyID    string // from the SigV4 credential scope
	Region         string // from the SigV4 credential scope
	Principal      string // the caller: CallerArn or an assumed-role ARN; "" if unknown
	Status         int    // HTTP status answered; 0 if the client went away first
	ErrorCode      string
	RequestID      string
	Time           time.Time // when it was answered (or the client went away), by Config.Now
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

// FailNext makes the next n correctly signed API calls, QuickSight or STS,
// fail with errorCode; pass an STS code (ErrSTSThrottling, ...) for STS calls.
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

// SetRateLimit throttles correctly signed API calls, QuickSight and STS (not
// the embed pages), to perSecond a second; 0 (or less) turns the limit off,
// the default. It is a token bucket (golang.org/x/time/rate) on the simulator
// clock, of size perSecond, full at each call of SetRateLimit and refilled at
// perSecond a second: a burst of perSecond passes at once, but a sliding
// one-second window can see nearly twice perSecond pass (a full bucket, then
// its refill), so it is not a fixed-window counter. A call beyond it is answered
// ThrottlingException "Rate exceeded", HTTP 429 (STS: Throttling, HTTP 400),
// and recorded, without being performed; it takes no token. Note the SDK
// retries throttling: each attempt is a call.
func (s *Simulator) SetRateLimit(perSecond int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limiter = nil
	if perSecond > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(perSecond), perSecond)
	}
}

// ClearFaults removes user faults, pending FailNext and BreakNext faults,
// latency and the rate limit.
func (s *Simulator) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.userFaults)
	s.failNext, s.failCode, s.latency, s.limiter = 0, "", 0, nil
	s.breakNext, s.breakHow = 0, 0
}

// Calls returns a copy of the API calls seen so far, oldest first.
func (s *Simulator) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]Call(nil), s.calls...)
	for i := range out {
		out[i].AllowedDomains = slices.Clone(out[i].AllowedDomains)
	}
	return out
}

// CallsPerSecond counts the calls seen so far, throttled and failed ones
// included, by the Unix second of their Call.Time: a test asserts the
// simulator never saw more than n calls in one second.
func (s *Simulator) CallsPerSecond() map[int64]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := make(map[int64]int)
	for _, c := range s.calls {
		counts[c.Time.Unix()]++
	}
	return counts
}

// Reset forgets the calls and clears the faults and the rate limit. Users,
// roles and issued embed URLs stay.
func (s *Simulator) Reset() {
	s.ClearFaults()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
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
