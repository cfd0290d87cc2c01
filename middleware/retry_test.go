package middleware_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// sleeps records the backoff waits of the middleware instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeps) list() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// refreshingUser signs e.user in with access tokens that are always inside the
// refresh window (MSAL has no clock hook), so every request refreshes at Entra.
func refreshingUser(t *testing.T, e *env) *entratest.Browser {
	t.Helper()
	e.idp.SetTokenLifetime(4 * time.Minute)
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	e.idp.ResetCounts()
	return b
}

// TestRefreshRetriesEntraFaults: a refresh that meets a 5xx or a timeout at
// the token endpoint is tried again with backoff (3 tries in all); when all
// tries fail the user gets the 503 page, never a consent redirect.
func TestRefreshRetriesEntraFaults(t *testing.T) {
	cases := []struct {
		name      string
		fail      int           // token requests that answer status
		status    int           // 5xx answer
		latency   time.Duration // token endpoint latency (timeouts)
		want      int           // page status
		wantCalls int           // token endpoint requests (attempts)
	}{
		{"one 500, then ok", 1, 500, 0, 200, 2},
		{"two 503, then ok", 2, 503, 0, 200, 3},
		{"502 three times: 503 page", 3, 502, 0, 503, 3},
		{"504 for ever: 503 page", 100, 504, 0, 503, 3},
		{"timeouts: 503 page", 0, 0, time.Minute, 503, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			b := refreshingUser(t, e)
			s := e.failingEntra(c.fail, c.status, c.latency)
			p := e.get(t, b, "/profile")
			if p.StatusCode != c.want || len(p.Trail) != 1 {
				t.Errorf("status %d, want %d and no redirect%s", p.StatusCode, c.want, trail(p))
			}
			// An attempt that times out may end before its request reaches the
			// emulator (e.g. while dialing): the waits count the attempts.
			if n := e.idp.Count(entratest.EndpointToken); n != c.wantCalls && (c.latency == 0 || n > c.wantCalls) {
				t.Errorf("%d token requests, want %d", n, c.wantCalls)
			}
			if n := e.idp.Count(entratest.EndpointAuthorize); n != 0 {
				t.Errorf("%d authorize requests, want 0", n)
			}
			checkBackoffs(t, s.list(), c.wantCalls-1)
		})
	}
}

// checkBackoffs checks n waits of 100ms then 400ms, each with up to 25% jitter off.
func checkBackoffs(t *testing.T, got []time.Duration, n int) {
	t.Helper()
	want := []time.Duration{100 * time.Millisecond, 400 * time.Millisecond}
	if len(got) != n {
		t.Fatalf("%d backoff waits %v, want %d", len(got), got, n)
	}
	for i, d := range got {
		if d > want[i] || d < want[i]*3/4 {
			t.Errorf("wait %d = %v, want %v minus at most 25%%", i+1, d, want[i])
		}
	}
}

// TestBackoffBounds: the waits stay within 75-100% of 100ms, 400ms, 400ms.
func TestBackoffBounds(t *testing.T) {
	for i, want := range []time.Duration{100 * time.Millisecond, 400 * time.Millisecond, 400 * time.Millisecond} {
		for range 1000 {
			if d := middleware.Backoff(i + 1); d > want || d < want*3/4 {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", i+1, d, want*3/4, want)
			}
		}
	}
}
