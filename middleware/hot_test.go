package middleware_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// TestFastPathKeepsUsersApart: many users through the fast path, in turns,
// each get their own token; a user who signs out gets none from it, and a
// cookie sent twice (not the value the session came from) still works.
func TestFastPathKeepsUsersApart(t *testing.T) {
	e := newEnv(t)
	const n = 50
	cookies := make([]string, n)
	for i := range cookies {
		acct := middleware.Account{HomeAccountID: fmt.Sprintf("%08x.%s", i, e.tenant.ID), TenantID: e.tenant.ID, Username: fmt.Sprint("u", i)}
		middleware.SeedToken(e.mw, acct, middleware.Token{AccessToken: fmt.Sprint("token-", i), ExpiresOn: e.clock.Now().Add(time.Hour), Scopes: []string{"User.Read"}})
		c := middleware.SessionCookie(e.mw, acct)
		cookies[i] = c.Name + "=" + c.Value
	}
	h := e.mw.Require("User.Read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := middlewareToken(r)
		fmt.Fprint(w, tok)
	}))
	get := func(cookie string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", e.srv.URL+"/profile", nil)
		r.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for round := range 3 {
		for i := range n {
			j := (i*7 + round) % n
			if w := get(cookies[j]); w.Body.String() != fmt.Sprint("token-", j) {
				t.Fatalf("round %d user %d got %q", round, j, w.Body)
			}
		}
	}
	if w := get(cookies[1] + "; " + cookies[2]); w.Body.String() != "token-1" {
		t.Errorf("cookie sent twice: got %q, want the first one's token", w.Body)
	}
	r := httptest.NewRequest("POST", e.srv.URL+"/auth/signout", nil)
	r.Header.Set("Cookie", cookies[3])
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	e.mw.AuthHandler().ServeHTTP(httptest.NewRecorder(), r)
	if w := get(cookies[3]); w.Code != http.StatusFound || w.Body.String() == "token-3" {
		t.Errorf("after sign-out: %d %q, want a redirect to sign in", w.Code, w.Body)
	}
}

// TestFastPathAllocations: a cached token costs the middleware at most two
// allocations (the request copy and its context), not a cookie parse.
func TestFastPathAllocations(t *testing.T) {
	e := newEnv(t)
	acct := middleware.Account{HomeAccountID: "oid." + e.tenant.ID, TenantID: e.tenant.ID}
	middleware.SeedToken(e.mw, acct, middleware.Token{AccessToken: "t", ExpiresOn: e.clock.Now().Add(time.Hour), Scopes: []string{"User.Read"}})
	c := middleware.SessionCookie(e.mw, acct)
	h := e.mw.Require("User.Read")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("GET", e.srv.URL+"/profile", nil)
	r.Header.Set("Cookie", c.Name+"="+c.Value)
	var w http.ResponseWriter = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if n := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) }); n > 2 {
		t.Errorf("%v allocations per request on the fast path, want at most 2", n)
	}
}

// TestManyUsersFastPath signs in 100 users, then fires their requests at once:
// every one is served from the in-process cache, nothing reaches Entra.
func TestManyUsersFastPath(t *testing.T) {
	e := newEnv(t)
	const n = 100
	browsers := make([]*entratest.Browser, n)
	for i := range browsers {
		u := e.addUser(fmt.Sprintf("user%03d", i))
		browsers[i] = e.browser(u, entratest.Accept)
		if p := e.get(t, browsers[i], "/profile"); p.StatusCode != 200 {
			t.Fatalf("user %d sign-in: %d%s", i, p.StatusCode, trail(p))
		}
	}
	e.idp.ResetCounts()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for i, b := range browsers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := b.Client.Get(e.srv.URL + "/profile")
			if err != nil {
				errs <- err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf("user=user%03d@", i); resp.StatusCode != 200 || !strings.Contains(string(body), want) {
				errs <- fmt.Errorf("user %d: %d %q", i, resp.StatusCode, body)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if c := e.entraCalls(); c != 0 {
		t.Errorf("%d calls to Entra, want 0", c)
	}
}

// TestRefreshSharedAcrossRoutes: routes that require the same scopes share one
// token, so a herd over them refreshes once.
func TestRefreshSharedAcrossRoutes(t *testing.T) {
	e := newEnv(t)
	b := refreshingUser(t, e)
	mux := http.NewServeMux()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	mux.Handle("/profile", e.mw.Require("User.Read")(ok))
	mux.Handle("/me", e.mw.Require("User.Read")(ok))
	e.setHandler(mux)
	e.idp.SetTokenLifetime(0)
	e.idp.SetTokenLatency(100 * time.Millisecond) // lets the herd join the refresh in flight
	var herd []*entratest.Browser
	for range 10 {
		herd = append(herd, b)
	}
	var codes [2][]int
	var wg sync.WaitGroup
	for i, path := range []string{"/profile", "/me"} {
		wg.Go(func() { codes[i] = fireAll(t, e, herd, path) })
	}
	wg.Wait()
	for i, c := range append(codes[0], codes[1]...) {
		if c != http.StatusOK {
			t.Errorf("request %d: status %d", i, c)
		}
	}
	if n := e.idp.Count(entratest.EndpointToken); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

// TestGraphScopeSpellingsShareOneToken: a token cached for "User.Read" serves
// a route declared with Graph's full URI or app id, without asking Entra.
func TestGraphScopeSpellingsShareOneToken(t *testing.T) {
	for _, scope := range []string{"User.Read", "https://graph.microsoft.com/User.Read",
		"HTTPS://GRAPH.MICROSOFT.COM/user.read", "00000003-0000-0000-c000-000000000000/User.Read"} {
		t.Run(scope, func(t *testing.T) {
			e := newEnv(t)
			acct := middleware.Account{HomeAccountID: "oid." + e.tenant.ID, TenantID: e.tenant.ID, Username: "adele@contoso.example"}
			middleware.SeedToken(e.mw, acct, middleware.Token{AccessToken: "seeded", ExpiresOn: e.clock.Now().Add(time.Hour), Scopes: []string{"User.Read"}})
			r := httptest.NewRequest("GET", e.srv.URL+"/x", nil)
			r.AddCookie(middleware.SessionCookie(e.mw, acct))
			e.idp.ResetCounts()
			w := httptest.NewRecorder()
			e.mw.Require(scope)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tok, _ := middlewareToken(r); tok != "seeded" {
					t.Errorf("token %q, want the seeded one", tok)
				}
			})).ServeHTTP(w, r)
			if w.Code != http.StatusOK || e.entraCalls() != 0 {
				t.Errorf("status %d, %d calls to Entra, want 200 and none", w.Code, e.entraCalls())
			}
		})
	}
}

// TestTokenCacheBounded: the in-process cache never holds more than
// Config.TokenCacheSize tokens.
func TestTokenCacheBounded(t *testing.T) {
	for _, size := range []int{1, 50, 1000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			e := newEnv(t)
			cfg := e.cfg
			cfg.TokenCacheSize = size
			mw := e.newMiddleware(t, cfg)
			exp := e.clock.Now().Add(time.Hour)
			for i := range 3 * size {
				acct := middleware.Account{HomeAccountID: fmt.Sprintf("u%d.t", i), TenantID: "t"}
				for _, s := range []string{"User.Read", "Mail.Read"} {
					middleware.SeedToken(mw, acct, middleware.Token{AccessToken: "at", ExpiresOn: exp, Scopes: []string{s}})
				}
			}
			if n := middleware.TokenCount(mw); n != size {
				t.Errorf("%d tokens held, want %d", n, size)
			}
		})
	}
}
