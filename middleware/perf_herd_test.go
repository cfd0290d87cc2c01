package middleware_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// TestExpiredHerdOneRefreshPerUser: 200 concurrent requests of 100 users whose
// access tokens have expired cause exactly 100 refreshes at the token
// endpoint, no redirects and no errors.
//
// MSAL has no clock hook: it judges a cached access token by the real clock
// and serves it while it is valid for 5 more minutes. The users therefore sign
// in while the emulator issues 4-minute tokens, which both MSAL and the
// middleware (Config.Now) treat as expired; refreshed tokens last an hour.
func TestExpiredHerdOneRefreshPerUser(t *testing.T) {
	e := newEnv(t)
	const users, perUser = 100, 2
	e.idp.SetTokenLifetime(4 * time.Minute)
	var herd []*entratest.Browser
	for i := range users {
		b := e.browser(e.addUser(fmt.Sprintf("herd%03d", i)), entratest.Accept)
		if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusOK {
			t.Fatalf("user %d sign-in: %d%s", i, p.StatusCode, trail(p))
		}
		for range perUser {
			herd = append(herd, b)
		}
	}
	e.idp.SetTokenLifetime(0)
	e.idp.ResetCounts()
	for i, code := range fireAll(t, e, herd, "/profile") {
		if code != http.StatusOK {
			t.Errorf("request %d (user %d): status %d", i, i/perUser, code)
		}
	}
	if n := e.idp.Count(entratest.EndpointToken); n != users {
		t.Errorf("%d token requests, want %d (one refresh per user)", n, users)
	}
	if n := e.idp.Count(entratest.EndpointAuthorize); n != 0 {
		t.Errorf("%d authorize requests, want 0", n)
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

// TestSignOutForgetsInProcessTokens: sign-out drops the user's in-process
// tokens, so a copy of the old session cookie gets no token (it is sent to
// sign in again).
func TestSignOutForgetsInProcessTokens(t *testing.T) {
	e := newEnv(t)
	b := e.browser(e.user, entratest.Accept)
	for _, path := range []string{"/profile", "/mail"} {
		if p := e.get(t, b, path); p.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d%s", path, p.StatusCode, trail(p))
		}
	}
	if n := middleware.TokenCount(e.mw); n != 2 {
		t.Fatalf("%d in-process tokens, want 2", n)
	}
	old := b.Client.Jar.Cookies(mustURL(t, e.srv.URL))
	if _, err := b.PostForm(e.srv.URL+"/auth/signout", nil); err != nil {
		t.Fatalf("sign-out: %v", err)
	}
	if n := middleware.TokenCount(e.mw); n != 0 {
		t.Errorf("%d in-process tokens after sign-out, want 0", n)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/profile", nil)
	for _, c := range old {
		req.AddCookie(c)
	}
	resp, err := noRedirects(e).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("old cookie after sign-out: status %d, want 302 to sign in", resp.StatusCode)
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

// noRedirects is a client of the app that trusts its certificate and does not
// follow redirects.
func noRedirects(e *env) *http.Client {
	c := *e.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
