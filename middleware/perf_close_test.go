package middleware_test

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// TestCloseStopsAcquisitionsAndLeavesNoGoroutine: Close cancels a token
// acquisition in flight (a refresh that Entra does not answer, or a retry
// backoff), waits for it, and leaves no goroutine of the middleware or MSAL
// behind; later requests get a 503 page, not a redirect.
func TestCloseStopsAcquisitionsAndLeavesNoGoroutine(t *testing.T) {
	cases := []struct {
		name  string
		fault func(e *env)
		sleep func(ctx context.Context, d time.Duration) error
	}{
		{"refresh hangs at Entra", func(e *env) { e.idp.SetTokenLatency(time.Hour) }, nil},
		{"retry backoff", func(e *env) { e.idp.FailTokenRequests(100, 503) },
			func(ctx context.Context, d time.Duration) error { <-ctx.Done(); return ctx.Err() }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			b := refreshingUser(t, e)
			middleware.SetRetry(e.mw, c.sleep, 0)
			c.fault(e)
			got := make(chan int, 1)
			go func() { got <- status(t, b, e.srv.URL+"/profile") }()
			waitFor(t, "the refresh to reach Entra", func() bool { return e.idp.Count(entratest.EndpointToken) > 0 })
			for range 2 { // Close is idempotent
				if err := e.mw.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
			}
			if s := <-got; s != http.StatusServiceUnavailable {
				t.Errorf("request in flight at Close: status %d, want 503", s)
			}
			if s := status(t, b, e.srv.URL+"/profile"); s != http.StatusServiceUnavailable {
				t.Errorf("request after Close: status %d, want 503", s)
			}
			if !strings.Contains(e.logs.String(), middleware.ErrClosed.Error()) {
				t.Errorf("log does not say %q", middleware.ErrClosed)
			}
			b.Client.CloseIdleConnections()
			waitFor(t, "no middleware or MSAL goroutine", func() bool { return leaked() == "" })
		})
	}
}

// status GETs url without following redirects and returns the status code.
func status(t *testing.T, b *entratest.Browser, url string) int {
	c := *b.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(url)
	if err != nil {
		t.Error(err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// leaked returns the stacks of goroutines running code of the middleware
// (outside tests) or of MSAL, or "".
func leaked() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		mw := strings.Contains(g, "consentry/consentry/middleware.") || strings.Contains(g, "consentry/middleware/internal/")
		msal := strings.Contains(g, "microsoft-authentication-library-for-go")
		if (mw || msal) && !strings.Contains(g, "_test.go") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// waitFor polls cond for up to 10 seconds (a bound, not a timing assertion)
// and fails the test with what it waited for.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s; goroutines:\n%s", what, leaked())
		}
		runtime.Gosched()
		time.Sleep(5 * time.Millisecond)
	}
}
