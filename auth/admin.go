package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/qsgate/qsgate/audit"
)

// Revoke ends every session of a user, found by subject or by email (case
// does not matter; give either or both), and says how many ended. With
// the cookie store it returns ErrNoServerSessions; when Redis cannot
// answer, ErrStoreUnavailable. A session whose email the provider did not
// verify has none in the session: find it by subject.
func (a *Auth) Revoke(ctx context.Context, sub, email string) (int, error) {
	sub, email = strings.TrimSpace(sub), strings.TrimSpace(email)
	if sub == "" && email == "" {
		return 0, errors.New("revoke: give a subject or an email")
	}
	n, err := a.store.RevokeUser(ctx, sub, email)
	if err != nil {
		return n, err
	}
	a.log.Info("sessions revoked", "event", "sessions_revoked", "sub", sub, "email", email, "count", n)
	a.record(ctx, audit.Event{Event: audit.SessionRevoked, Reason: audit.ReasonOperator, Subject: sub, Email: email, Count: audit.N(n)})
	return n, nil
}

// Sessions lists the live sessions of an email, oldest first: when each
// started, was last seen and ends, never its id. With the cookie store it
// returns ErrNoServerSessions.
func (a *Auth) Sessions(ctx context.Context, email string) ([]SessionInfo, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return nil, errors.New("sessions: give an email")
	}
	return a.store.List(ctx, email)
}
