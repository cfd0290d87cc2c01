package middleware

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/consentry/consentry/middleware/internal/flowstore"
	"github.com/consentry/consentry/middleware/internal/scope"
)

// loopRecord counts the failed round trips of one browser session for one
// kind of flow and scope set.
type loopRecord struct {
	N     int       `json:"n"`
	First time.Time `json:"f"`
}

// loopKindClaims names the counter of claims-challenge round trips.
const loopKindClaims = "claims"

// loopID names the loop-guard counter of a flow: the browser session, the
// kind of round trip (authorize, admin consent, connect, claims) and the
// canonical scope set.
func loopID(sid, kind, claims string, scopes []string) string {
	if kind == "" && claims != "" {
		kind = loopKindClaims
	}
	return sid + "\x00" + kind + "\x00" + scope.Key(scopes)
}

// flowLoopID is loopID of a stored flow.
func flowLoopID(f *flowstore.Flow) string { return loopID(f.SID, f.Kind, f.Claims, f.Scopes) }

// checkAttempts runs before a new round trip to Entra for fr's scopes in the
// session sid. It returns the number the round trip would have, or an error
// wrapping ErrLoopDetected when Config.MaxAttempts round trips for them came
// back from Entra without what the route needs within FlowTTL (consent
// declined or failing, tokens issued without the scopes, a claims challenge
// repeating): another trip would not help. Only real Entra answers count
// (countFailure); a fault of Entra or the store (503) does not, and a flow
// that succeeds resets the count (flowSucceeded). The count lives in the
// shared store, so it holds across replicas.
func (m *Middleware) checkAttempts(ctx context.Context, sid string, fr flowRequest) (int, error) {
	rec, err := m.loopRecord(ctx, loopID(sid, fr.kind, fr.claims, fr.scopes))
	if err != nil {
		return 0, fmt.Errorf("%w: loop guard: %w", ErrUnavailable, err)
	}
	if rec.N >= m.cfg.MaxAttempts {
		return rec.N, fmt.Errorf("%w: %d round trips to Entra for %q within %s",
			ErrLoopDetected, rec.N, strings.Join(fr.scopes, " "), FlowTTL)
	}
	return rec.N + 1, nil
}

// loopRecord reads the counter id; a missing or expired one is zero.
func (m *Middleware) loopRecord(ctx context.Context, id string) (loopRecord, error) {
	var rec loopRecord
	found, err := m.loops.Get(ctx, id, &rec)
	if err != nil {
		return loopRecord{}, err
	}
	now := m.cfg.Now()
	if !found || now.Sub(rec.First) > FlowTTL || now.Before(rec.First) {
		return loopRecord{}, nil
	}
	return rec, nil
}

// countFailure records that flow f came back from Entra without what its
// route needs. A store fault is logged, not fatal: the user's page says what
// went wrong already.
func (m *Middleware) countFailure(ctx context.Context, f *flowstore.Flow) {
	id := flowLoopID(f)
	err := func() error {
		rec, err := m.loopRecord(ctx, id)
		if err != nil {
			return err
		}
		now := m.cfg.Now()
		if rec.N == 0 {
			rec.First = now
		}
		rec.N++
		return m.loops.Put(ctx, id, rec, max(FlowTTL-now.Sub(rec.First), time.Second))
	}()
	if err != nil {
		m.log.WarnContext(ctx, "middleware: loop guard: count a failed round trip", "flow", flowstore.ID(f.State), "err", err)
	}
}

// flowSucceeded updates the loop guard after f completed: the counter of its
// scopes is reset, except for a claims round trip, whose success Entra
// reports but only the API can confirm; it counts, so a challenge that keeps
// coming back is stopped.
func (m *Middleware) flowSucceeded(ctx context.Context, f *flowstore.Flow) {
	if f.Kind == "" && f.Claims != "" {
		m.countFailure(ctx, f)
		return
	}
	if err := m.loops.Delete(ctx, flowLoopID(f)); err != nil {
		m.log.WarnContext(ctx, "middleware: loop guard: reset", "flow", flowstore.ID(f.State), "err", err)
	}
}

// countsAsFailure reports whether err, the end of a flow at the callback, is
// an Entra answer without what the route needs (rather than a server fault).
func countsAsFailure(err error) bool {
	var ce *ConsentError
	return errors.As(err, &ce) && !errors.Is(err, ErrUnavailable)
}
