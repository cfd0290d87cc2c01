package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
)

// TestColdReadConcurrentFirstRequests: the first requests of several users
// on a replica that has none of their tokens, all at once, each get their
// own user's token from the shared cache, without asking Entra, and the
// replica keeps one token per user.
func TestColdReadConcurrentFirstRequests(t *testing.T) {
	e := newEnv(t)
	const users, perUser = 4, 8
	var reqs []*http.Request
	want := map[string]string{} // cookie → the user's token
	for i := range users {
		b := e.browser(e.addUser(fmt.Sprintf("cold%d", i)), entratest.Accept)
		r := signedInRequest(t, e, b)
		tok, acct := servedToken(t, e.mw, r)
		middleware.ForgetTokens(e.mw, acct.HomeAccountID)
		want[r.Header.Get("Cookie")] = tok
		for range perUser {
			reqs = append(reqs, r.Clone(context.Background()))
		}
	}
	e.idp.ResetCounts()
	var wg sync.WaitGroup
	for _, r := range reqs {
		wg.Go(func() {
			if tok, _ := servedToken(t, e.mw, r); tok != want[r.Header.Get("Cookie")] {
				t.Errorf("a user was served a token that is not their own")
			}
		})
	}
	wg.Wait()
	if n := e.entraCalls(); n != 0 {
		t.Errorf("%d calls to Entra, want 0 (every token is in the shared cache)", n)
	}
	if n := middleware.TokenCount(e.mw); n != users {
		t.Errorf("%d tokens kept, want %d (one per user)", n, users)
	}
}

// servedToken serves r through Require("User.Read") and returns the token
// and account the handler saw.
func servedToken(t testing.TB, mw *middleware.Middleware, r *http.Request) (string, middleware.Account) {
	t.Helper()
	var tok middleware.Token
	var acct middleware.Account
	h := mw.Require("User.Read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ = middleware.TokenFromContext(r.Context())
		acct, _ = middleware.AccountFromContext(r.Context())
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || tok.AccessToken == "" {
		t.Errorf("status %d, token %t, want 200 with a token", w.Code, tok.AccessToken != "")
	}
	return tok.AccessToken, acct
}

// TestColdReadEndsAtClose: a cold read stuck in the shared store is
// cancelled by Close, which returns only once the read has; the request
// gets 503.
func TestColdReadEndsAtClose(t *testing.T) {
	e := newEnv(t)
	store := &stuckStore{flakyStore: flakyStore{mem: tokencache.NewMemoryStore()}, entered: make(chan struct{}, 1)}
	e.serveOver(t, store)
	r := signedInRequest(t, e, e.browser(e.user, entratest.Accept))
	acct, _ := e.mw.Account(r)
	middleware.ForgetTokens(e.mw, acct.HomeAccountID)
	store.stuck.Store(true)
	w := httptest.NewRecorder()
	served := make(chan struct{})
	go func() {
		defer close(served)
		e.mw.Require("User.Read")(http.HandlerFunc(okHandler)).ServeHTTP(w, r)
	}()
	<-store.entered
	if err := e.mw.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if !store.cancelled.Load() {
		t.Error("Close returned before the cold read it should cancel")
	}
	<-served
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", w.Code)
	}
}

// stuckStore is a flakyStore whose Get, once stuck, waits for its context to end.
type stuckStore struct {
	flakyStore
	stuck     atomic.Bool
	cancelled atomic.Bool // a stuck Get returned because its context ended
	entered   chan struct{}
}

func (s *stuckStore) Get(ctx context.Context, k string) ([]byte, bool, error) {
	if !s.stuck.Load() {
		return s.flakyStore.Get(ctx, k)
	}
	s.entered <- struct{}{}
	select {
	case <-ctx.Done():
		s.cancelled.Store(true)
		return nil, false, fmt.Errorf("stuck: %w: %w", tokencache.ErrUnavailable, ctx.Err())
	case <-time.After(time.Minute):
		return nil, false, fmt.Errorf("stuck: not cancelled: %w", tokencache.ErrUnavailable)
	}
}

// TestColdReadSharesTheSilentDeadline: when the cold read misses, the MSAL
// call that follows reads the store under the same deadline, not one of its
// own: a slow store cannot make one request wait twice the silent limit.
func TestColdReadSharesTheSilentDeadline(t *testing.T) {
	e := newEnv(t)
	store := &deadlineStore{flakyStore: flakyStore{mem: tokencache.NewMemoryStore()}}
	e.serveOver(t, store)
	r := signedInRequest(t, e, e.browser(e.user, entratest.Accept))
	acct, _ := e.mw.Account(r)
	middleware.ForgetTokens(e.mw, acct.HomeAccountID)
	store.recording.Store(true)
	servedToken(t, e.mw, r)
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.deadlines) < 2 {
		t.Fatalf("%d store reads, want the cold read and MSAL's", len(store.deadlines))
	}
	for _, d := range store.deadlines {
		if d.IsZero() || !d.Equal(store.deadlines[0]) {
			t.Errorf("store read deadlines %v, want one deadline for the whole silent acquisition", store.deadlines)
			break
		}
	}
}

// deadlineStore is a flakyStore that, once recording, records the deadline
// of every Get and makes the first one a miss (the cold read finds nothing,
// so MSAL reads the partition too).
type deadlineStore struct {
	flakyStore
	recording atomic.Bool
	mu        sync.Mutex
	deadlines []time.Time
}

func (s *deadlineStore) Get(ctx context.Context, k string) ([]byte, bool, error) {
	if !s.recording.Load() {
		return s.flakyStore.Get(ctx, k)
	}
	d, _ := ctx.Deadline()
	s.mu.Lock()
	s.deadlines = append(s.deadlines, d)
	first := len(s.deadlines) == 1
	s.mu.Unlock()
	if first {
		return nil, false, nil
	}
	return s.flakyStore.Get(ctx, k)
}
