package middleware

import (
	"context"
	"fmt"
)

// Sign-out reaches every replica. The default cookie session cannot be
// recalled from the browsers that copied it, so sign-out records the
// session's binding id as revoked in the token cache's Store (shared by
// replicas; only a signed-in session's sign-out writes one, for
// SessionMaxAge). A replica reads that record when it decodes a signed-in
// cookie, which it does once per memoTTL at most: the fast path and the
// memo serve a cookie no longer than memoTTL after decoding it. So a
// signed-out session stops on every replica within memoTTL (one minute),
// and the fast path makes no extra round trip. A revoked session reads as
// a new, empty one (the next sign-in gets a new binding id). With
// Config.Sessions (a server-side store) sign-out deletes the session
// itself and no record is written or read.

// revokedRecord is the value of a revocation record.
type revokedRecord struct {
	Revoked bool `json:"r"`
}

// revokeSession records at sign-out that the session bound to sid is over.
func (m *Middleware) revokeSession(ctx context.Context, sid string) error {
	if m.memo == nil || sid == "" {
		return nil
	}
	if err := m.revoked.Put(ctx, sid, revokedRecord{Revoked: true}, m.cfg.SessionMaxAge); err != nil {
		return fmt.Errorf("middleware: record the sign-out for other replicas: %w", err)
	}
	return nil
}

// dropIfRevoked empties a signed-in cookie session that was signed out on
// any replica. An error (the store is unreachable) leaves the session as it
// is: the caller must not memoize it, so it is checked again.
func (m *Middleware) dropIfRevoked(ctx context.Context, s *session) error {
	if m.memo == nil || s.account.HomeAccountID == "" || s.sid == "" {
		return nil
	}
	var rec revokedRecord
	found, err := m.revoked.Get(ctx, s.sid, &rec)
	if err != nil {
		return fmt.Errorf("middleware: read sign-out records: %w", err)
	}
	if found && rec.Revoked {
		s.account, s.sid, s.pending, s.admin = Account{}, "", nil, false
		clear(s.raw.Values)
	}
	return nil
}
