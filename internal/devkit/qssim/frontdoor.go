package qssim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// operation handles one API call after signature, fault and account checks.
// It fills in c and returns the success body without RequestId.
type operation func(r *http.Request, body []byte, c *Call) (map[string]any, *apiError)

// api wraps an operation with what every QuickSight call shares: the front
// door (latency, SigV4, injected faults), the account check, request ids,
// JSON errors, the call record and the log.
func (s *Simulator) api(name string, op operation) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := Call{Operation: name, AccountID: r.PathValue("account"), RequestID: newRequestID()}
		out, apiErr := s.handle(r, op, &c)
		if r.Context().Err() != nil {
			s.record(r.Context(), "quicksight call", c)
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
		if how := s.takeBreak(); how != 0 {
			c.ErrorCode = "Break"
			s.record(r.Context(), "quicksight call", c)
			if writeBroken(w, how) {
				return
			}
		} else {
			s.record(r.Context(), "quicksight call", c)
		}

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
	body, _, e := s.admit(r, quickSightService, c)
	if e != nil {
		return nil, e
	}
	if c.Operation != "" && c.AccountID != s.cfg.AccountID {
		return nil, newError(ErrAccessDenied, fmt.Sprintf("User is not authorized to access QuickSight account %q.", c.AccountID))
	}
	return op(r, body, c)
}

// admit is the front door every call passes, QuickSight or STS: the injected
// latency, reading the body, the SigV4 check for service, the rate limit
// (ThrottlingException, or Throttling for STS), then an injected FailNext
// fault (its code as given, for either service). It returns the body (also
// when it refuses the call, so the caller can name the operation) and who
// signed. If the client goes away during the latency, it returns an error the
// caller must not send: the caller checks r.Context() first.
func (s *Simulator) admit(r *http.Request, service string, c *Call) ([]byte, caller, *apiError) {
	s.mu.Lock()
	latency := s.latency
	s.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return nil, caller{}, newError(ErrInternalFailure, "The client went away.")
		case <-t.C:
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, caller{}, frontDoorError(service, newError(ErrInvalidParameterValue, "The request body could not be read."))
	}
	who, e := s.verifySignature(r, body, service, c)
	if e != nil {
		return body, who, frontDoorError(service, e)
	}
	now := s.now()
	s.mu.Lock()
	// A throttled call neither takes a token nor uses up a FailNext fault.
	throttled := s.limiter != nil && !s.limiter.AllowN(now, 1)
	code := ""
	if !throttled && s.failNext > 0 {
		s.failNext--
		code = s.failCode
	}
	s.mu.Unlock()
	if throttled {
		return body, who, frontDoorError(service, faultError(ErrThrottling))
	}
	if code != "" {
		return body, who, faultError(code)
	}
	return body, who, nil
}

// record keeps c for Calls and logs it as msg. Keys, secrets and tokens
// never reach the log.
func (s *Simulator) record(ctx context.Context, msg string, c Call) {
	c.Time = s.now()
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	level := slog.LevelInfo
	if c.Status >= 500 {
		level = slog.LevelError
	}
	s.log.LogAttrs(ctx, level, msg,
		slog.String("operation", c.Operation),
		slog.Int("status", c.Status),
		slog.String("error_code", c.ErrorCode),
		slog.String("request_id", c.RequestID),
		slog.String("principal", c.Principal),
		slog.String("user_arn", c.UserArn),
	)
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
