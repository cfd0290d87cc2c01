package middleware

import (
	"context"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/consentry/consentry/middleware/internal/scope"
)

// Test hooks for package middleware_test (compiled only with the tests).

// SetRetry replaces the backoff sleep and the per-attempt timeout of silent
// token acquisition, so that tests never wait for a real backoff. A nil
// sleep is the real one; a zero attemptTimeout keeps the current one.
func SetRetry(m *Middleware, sleep func(ctx context.Context, d time.Duration) error, attemptTimeout time.Duration) {
	m.retry.sleep = sleep
	if attemptTimeout != 0 {
		m.retry.timeout = attemptTimeout
	}
}

// LiftDeadlines gives m's token acquisitions (an attempt, and a silent
// acquisition as a whole) deadlines no loaded machine reaches, so that a slow
// answer is never retried or cut off in a test that does not test timeouts.
func LiftDeadlines(m *Middleware) {
	m.retry.timeout = time.Hour
	m.silentLimit = time.Hour
}

// SetSilentLimit sets the time budget of one silent acquisition.
func SetSilentLimit(m *Middleware, d time.Duration) { m.silentLimit = d }

// Backoff exposes the backoff before attempt i.
func Backoff(i int) time.Duration { return backoff(i) }

// TokenCount returns the number of access tokens in the in-process cache.
func TokenCount(m *Middleware) int {
	n := 0
	m.tokens.Range(func(s routeSet) { n += len(s.all()) })
	return n
}

// ForgetTokens drops an account's access tokens from the in-process cache
// (as if this replica had never seen them); the token cache keeps them.
func ForgetTokens(m *Middleware, homeAccountID string) { m.dropAccount(homeAccountID) }

// SeedToken puts tok for acct and scopes into the in-process cache, as a
// sign-in would, without any call to Entra.
func SeedToken(m *Middleware, acct Account, tok Token) {
	_, k, err := scope.Route(tok.Scopes)
	if err != nil {
		panic(err)
	}
	m.keepToken(acct, tok, m.routes.id(k), false)
}

// SessionCookie returns a session cookie of the default cookie store signed in
// as acct, and remembers its decoded account until now+memoTTL, as a first
// request would.
func SessionCookie(m *Middleware, acct Account) *http.Cookie {
	r := httptest.NewRequest("GET", m.cfg.RedirectURL, nil)
	w := httptest.NewRecorder()
	s := m.loadSession(r)
	s.signIn(acct)
	if err := s.save(w, r); err != nil {
		panic(err)
	}
	c := w.Result().Cookies()[0]
	if m.memo != nil {
		m.memoize(c.Value, acct, m.cfg.Now().Add(memoTTL))
	}
	return c
}

// MemoBytes returns the bytes of cookie values held by the session memo and
// the fast path.
func MemoBytes(m *Middleware) int { return m.memo.Bytes() + m.fast.Bytes() }

// SetKeptBodyTimeout replaces the deadline of the read of a kept body.
func SetKeptBodyTimeout(m *Middleware, d time.Duration) { m.keptBodyTimeout = d }

// SetKeyFetchTimeout shortens the timeout of a fetch of the ID token keys.
func SetKeyFetchTimeout(m *Middleware, d time.Duration) { m.keyFetchTimeout = d }

// RouteCount returns how many scope sets have a route id.
func RouteCount(m *Middleware) int {
	m.routes.mu.Lock()
	defer m.routes.mu.Unlock()
	return len(m.routes.ids)
}

// ForgetSession drops the session memo's entry for a session cookie value
// (as if this replica had never decoded it), so the next request with it
// decodes the cookie again.
func ForgetSession(m *Middleware, cookieValue string) {
	if m.memo != nil {
		m.memo.Remove(cookieValue, 0)
	}
}
