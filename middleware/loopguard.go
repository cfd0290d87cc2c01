package middleware

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/consentry/consentry/middleware/internal/protocol"
)

// loopRecord counts the round trips of one browser session for one scope set.
type loopRecord struct {
	N     int       `json:"n"`
	First time.Time `json:"f"`
}

// countAttempt records one more round trip to Entra for fr's scopes in the
// session sid and returns its number. Past Config.MaxAttempts within FlowTTL
// it returns an error wrapping ErrLoopDetected instead: the route came back
// from Entra that often still without what it needs (consent failing, tokens
// issued without the scopes, a claims challenge repeating), and another trip
// would not help. The count lives in the shared store, so it holds across
// replicas; it expires FlowTTL after the first attempt.
func (m *Middleware) countAttempt(ctx context.Context, sid string, fr flowRequest) (int, error) {
	id := sid + "\x00" + fr.kind + "\x00" + protocol.Key(fr.scopes)
	var rec loopRecord
	found, err := m.loops.Get(ctx, id, &rec)
	if err != nil {
		return 0, fmt.Errorf("%w: loop guard: %w", ErrUnavailable, err)
	}
	now := m.cfg.Now()
	if !found || now.Sub(rec.First) > FlowTTL || now.Before(rec.First) {
		rec = loopRecord{First: now}
	}
	rec.N++
	if rec.N > m.cfg.MaxAttempts {
		return rec.N, fmt.Errorf("%w: %d round trips to Entra for %q within %s",
			ErrLoopDetected, rec.N-1, strings.Join(fr.scopes, " "), FlowTTL)
	}
	if err := m.loops.Put(ctx, id, rec, max(FlowTTL-now.Sub(rec.First), time.Second)); err != nil {
		return 0, fmt.Errorf("%w: loop guard: %w", ErrUnavailable, err)
	}
	return rec.N, nil
}
