package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
)

// TestReplicas runs two middleware instances sharing keys, a token cache
// and a flow store behind one address, alternating per request like a load
// balancer: flows started on one finish on the other, and tokens are shared.
func TestReplicas(t *testing.T) {
	e := newEnv(t)
	e.cfg.FlowStore = tokencache.NewMemoryStore()
	e.mw = e.newMiddleware(t, e.cfg)
	other := e.newMiddleware(t, e.cfg)
	var mu sync.Mutex
	n := 0
	hA, hB := e.routes(e.mw), e.routes(other)
	lb := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		h := hA
		if n%2 == 0 {
			h = hB
		}
		mu.Unlock()
		h.ServeHTTP(w, r)
	})
	e.setHandler(lb)
	b := e.browser(e.user, entratest.Accept)
	for _, path := range []string{"/profile", "/mail?x=1", "/profile", "/mail?x=2"} {
		if p := e.get(t, b, path); p.StatusCode != 200 {
			t.Fatalf("%s: %d%s", path, p.StatusCode, trail(p))
		}
	}
}

// TestColdReplicaManyUsers: a replica with an empty in-process cache serves
// 50 users at once from the shared token cache. One MSAL client shared by
// concurrent users would miss tokens ("no token found") and send users to
// consent; the pool of clients must not.
func TestColdReplicaManyUsers(t *testing.T) {
	e := newEnv(t)
	const n = 50
	browsers := make([]*entratest.Browser, n)
	for i := range browsers {
		browsers[i] = e.browser(e.addUser(fmt.Sprintf("cold%02d", i)), entratest.Accept)
		if p := e.get(t, browsers[i], "/profile"); p.StatusCode != 200 {
			t.Fatalf("user %d sign-in: %d%s", i, p.StatusCode, trail(p))
		}
	}
	e.setHandler(e.routes(e.newMiddleware(t, e.cfg))) // same keys and cache, cold memory
	e.idp.ResetCounts()
	codes := fireAll(t, e, browsers, "/profile")
	for i, c := range codes {
		if c != 200 {
			t.Errorf("user %d: status %d", i, c)
		}
	}
	if c := e.entraCalls(); c != 0 {
		t.Errorf("%d calls to Entra, want 0 (tokens are in the shared cache)", c)
	}
}

// TestAnonymousPostsCannotEvictTokens: anonymous form posts to a Require
// route (each a pending flow and a kept body) do not go into the token
// cache's store, so they cannot push a signed-in user's tokens out of it.
func TestAnonymousPostsCannotEvictTokens(t *testing.T) {
	e := newEnv(t)
	cache, err := tokencache.New(tokencache.NewMemoryStore(tokencache.WithMaxBytes(256 << 10)))
	if err != nil {
		t.Fatal(err)
	}
	e.cfg.Cache = cache
	e.serveApp(t, nil)
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	body := strings.Repeat("x", middleware.MaxAnonymousResumeBody-100)
	for range 100 { // each from a new browser: 1.6 MB in all
		if s := e.anonymousPost(t, e.noRedirects(), body); s != http.StatusFound {
			t.Fatalf("anonymous post: %d, want 302 to Entra", s)
		}
	}
	e.serveApp(t, nil) // a restarted replica: only the shared store has the tokens
	e.idp.ResetCounts()
	if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusOK || e.entraCalls() != 0 {
		t.Errorf("after the flood: %d with %d calls to Entra (tokens evicted)%s", p.StatusCode, e.entraCalls(), trail(p))
	}
}

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

// TestCallsAfterCloseFail: after Close, AppToken and the calls of Client and
// Transport fail with ErrClosed, and the API is never reached.
func TestCallsAfterCloseFail(t *testing.T) {
	e := newEnv(t)
	e.idp.GrantAppRoles(e.tenant.ID, e.app.ClientID, "User.Read.All")
	var hits atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(api.Close)
	acct := middleware.Account{HomeAccountID: "oid." + e.tenant.ID, TenantID: e.tenant.ID, Username: "adele@contoso.example"}
	middleware.SeedToken(e.mw, acct, middleware.Token{AccessToken: "seeded", ExpiresOn: e.clock.Now().Add(time.Hour), Scopes: []string{"User.Read"}})
	r := httptest.NewRequest("GET", e.srv.URL+"/x", nil)
	r.AddCookie(middleware.SessionCookie(e.mw, acct))
	var client *http.Client
	var transport http.RoundTripper
	e.mw.Require("User.Read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client, transport = e.mw.Client(r), e.mw.Transport(r, nil)
	})).ServeHTTP(httptest.NewRecorder(), r)
	if err := e.mw.Close(); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"AppToken": func() error {
			_, err := e.mw.AppToken(context.Background(), e.tenant.ID, "", "User.Read.All")
			return err
		},
		"Client": func() error { _, err := client.Get(api.URL); return err },
		"Transport": func() error {
			_, err := transport.RoundTrip(httptest.NewRequest("GET", api.URL, nil))
			return err
		},
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, middleware.ErrClosed) || !errors.Is(err, middleware.ErrUnavailable) {
			t.Errorf("%s after Close: %v, want ErrClosed and ErrUnavailable", name, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the API was called %d times after Close", n)
	}
}

func TestLogsHoldNoSecrets(t *testing.T) {
	e := newEnv(t)
	var tokens []string
	mux := http.NewServeMux()
	mux.Handle("/", e.routes(e.mw))
	e.setHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := r.URL.Query().Get("code"); c != "" {
			tokens = append(tokens, c)
		}
		mux.ServeHTTP(w, r)
	}))
	mux.Handle("GET /peek", e.mw.Require("User.Read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := middlewareToken(r)
		tokens = append(tokens, tok)
	})))
	b := e.browser(e.user, entratest.Accept)
	e.get(t, b, "/peek")
	e.get(t, b, "/mail")
	if len(tokens) < 2 {
		t.Fatalf("captured %d secrets", len(tokens))
	}
	logs := e.logs.String()
	for _, s := range append(tokens, testSecret) {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("logs contain a secret (%d chars)", len(s))
		}
	}
	if !strings.Contains(logs, "signed in") {
		t.Errorf("logs lack the sign-in event: %s", logs)
	}
}
