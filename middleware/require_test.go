package middleware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
)

func TestIncrementalConsentAndResume(t *testing.T) {
	e := newEnv(t)
	b := e.browser(e.user, entratest.Accept)

	// 1. First visit: sign in and consent to User.Read, then the page.
	p := e.get(t, b, "/profile")
	if p.StatusCode != 200 || !strings.Contains(p.Body, "page /profile") || !strings.Contains(p.Body, "user="+e.user.UPN) {
		t.Fatalf("first visit: %d %q%s", p.StatusCode, p.Body, trail(p))
	}
	if len(steps(p, "signin")) != 1 || len(steps(p, "consent")) != 1 {
		t.Fatalf("first visit should sign in and consent once:%s", trail(p))
	}
	if c := steps(p, "consent")[0]; !slices.Contains(c.Scopes, "User.Read") || slices.Contains(c.Scopes, "Mail.Read") {
		t.Errorf("first consent lists %v", c.Scopes)
	}
	az := authorizeScopes(t, p)
	if len(az) != 1 || !slices.Contains(az[0], "User.Read") || !slices.Contains(az[0], "offline_access") {
		t.Fatalf("authorize scopes %v", az)
	}

	// 2. A route with a new scope: consent for just Mail.Read, no sign-in page,
	//    then the original URL with its query string.
	p = e.get(t, b, "/mail?folder=inbox&q=a%20b")
	if p.StatusCode != 200 || !strings.Contains(p.Body, "page /mail query=folder=inbox&q=a%20b") {
		t.Fatalf("second route: %d %q%s", p.StatusCode, p.Body, trail(p))
	}
	if p.URL.Path != "/mail" || p.URL.RawQuery != "folder=inbox&q=a%20b" {
		t.Errorf("resumed at %s", p.URL)
	}
	if n := len(steps(p, "signin")); n != 0 {
		t.Errorf("second route showed %d sign-in pages:%s", n, trail(p))
	}
	consents := steps(p, "consent")
	if len(consents) != 1 || !slices.Equal(consents[0].Scopes, []string{"Mail.Read"}) {
		t.Fatalf("second consent should list only Mail.Read:%s", trail(p))
	}
	az = authorizeScopes(t, p)
	if len(az) != 1 || !slices.Contains(az[0], "Mail.Read") || slices.Contains(az[0], "User.Read") {
		t.Fatalf("second authorize scopes %v", az)
	}
	for _, s := range p.Trail {
		if u, _ := url.Parse(s.URL); strings.HasSuffix(u.Path, "/authorize") && u.Query().Get("login_hint") != e.user.UPN {
			t.Errorf("authorize without login_hint: %s", s.URL)
		}
	}

	// 3. Back to the first route: nothing at Entra.
	e.idp.ResetCounts()
	p = e.get(t, b, "/profile")
	if p.StatusCode != 200 || len(p.Trail) != 1 {
		t.Fatalf("third visit: %d%s", p.StatusCode, trail(p))
	}
	if n := e.entraCalls(); n != 0 {
		t.Errorf("third visit made %d calls to Entra", n)
	}
}

func TestRequirePanicsOnProgrammerError(t *testing.T) {
	mw, err := middleware.New(validConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, scopes := range [][]string{nil, {""}, {"Mail.Read Mail.Send"}, {"openid"}, {"User.Read", "api://x/y"}} {
		t.Run(fmt.Sprint(scopes), func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.HasPrefix(msg, "middleware: Require: ") {
					t.Errorf("recover() = %v, want a middleware: Require panic", r)
				}
			}()
			mw.Require(scopes...)
		})
	}
	// Graph and another resource side by side on different routes are fine.
	mw.Require("User.Read", "https://graph.microsoft.com/Mail.Read")
	mw.Require("api://11111111-2222-3333-4444-555555555555/access_as_user")
}

// TestScriptsGet401: requests from scripts, fetch() with its defaults
// included, get a 401 JSON answer naming the sign-in URL; page navigations
// get the 302.
func TestScriptsGet401(t *testing.T) {
	t.Run("without a session, the return path stays on the origin", func(t *testing.T) {
		mw, err := middleware.New(validConfig(t))
		if err != nil {
			t.Fatal(err)
		}
		called := false
		h := mw.Require("Mail.Read")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
		for _, path := range []string{"/mail?x=1", "//evil.test"} {
			r := httptest.NewRequest("GET", "https://app.example/", nil)
			r.URL.Path, r.RequestURI = path, path
			r.URL.RawQuery = strings.TrimPrefix(strings.TrimPrefix(path, "/mail"), "?")
			if path == "//evil.test" {
				r.URL.RawQuery = ""
			}
			r.Header.Set("X-Requested-With", "XMLHttpRequest")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			var body map[string]any
			_ = json.Unmarshal(w.Body.Bytes(), &body)
			u, _ := body["signin_url"].(string)
			if w.Code != 401 || called || !strings.HasPrefix(u, "/auth/signin?redirect=%2F") {
				t.Fatalf("%s: %d %v %s", path, w.Code, called, w.Body)
			}
			if strings.Contains(u, "evil") {
				t.Errorf("signin_url %q carries the evil path", u)
			}
		}
	})
	t.Run("JSON body and WWW-Authenticate", func(t *testing.T) {
		e := newEnv(t)
		signedIn := e.browser(e.user, entratest.Accept)
		if p := e.get(t, signedIn, "/profile"); p.StatusCode != 200 {
			t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
		}
		cases := []struct {
			name   string
			b      *entratest.Browser
			header http.Header
		}{
			{"fetch JSON, not signed in", e.browser(e.user, entratest.Accept), http.Header{"Accept": {"application/json"}}},
			{"XHR, not signed in", e.browser(e.user, entratest.Accept), http.Header{"X-Requested-With": {"XMLHttpRequest"}}},
			{"fetch JSON, needs consent", signedIn, http.Header{"Accept": {"application/json, */*"}}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				req, _ := http.NewRequest("GET", e.srv.URL+"/api/mail?page=2", nil)
				req.Header = c.header
				resp, err := c.b.Client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var body struct {
					Error     string   `json:"error"`
					SignInURL string   `json:"signin_url"`
					Scopes    []string `json:"scopes"`
				}
				raw, _ := io.ReadAll(resp.Body)
				if err := json.Unmarshal(raw, &body); err != nil {
					t.Fatalf("body %q: %v", raw, err)
				}
				if resp.StatusCode != 401 || resp.Header.Get("Location") != "" {
					t.Fatalf("status %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
				}
				want := "/auth/signin?redirect=%2Fapi%2Fmail%3Fpage%3D2&scope=Mail.Read"
				if body.SignInURL != want || !strings.Contains(resp.Header.Get("WWW-Authenticate"), want) {
					t.Errorf("signin_url %q, WWW-Authenticate %q; want %q", body.SignInURL, resp.Header.Get("WWW-Authenticate"), want)
				}
				if body.Error != "interaction_required" || len(body.Scopes) != 1 || body.Scopes[0] != "Mail.Read" {
					t.Errorf("body %s", raw)
				}
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
					t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
				}
			})
		}
	})
	t.Run("which requests count as scripts", func(t *testing.T) {
		e := newEnv(t)
		tests := []struct {
			name   string
			header map[string]string
			want   int
		}{
			{"fetch defaults", map[string]string{"Accept": "*/*", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}, http.StatusUnauthorized},
			{"fetch same-origin mode", map[string]string{"Accept": "*/*", "Sec-Fetch-Mode": "same-origin"}, http.StatusUnauthorized},
			{"dest empty only", map[string]string{"Sec-Fetch-Dest": "empty"}, http.StatusUnauthorized},
			{"XMLHttpRequest", map[string]string{"X-Requested-With": "XMLHttpRequest"}, http.StatusUnauthorized},
			{"JSON accept", map[string]string{"Accept": "application/json"}, http.StatusUnauthorized},
			{"navigation", map[string]string{"Accept": "text/html,*/*;q=0.8", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, http.StatusFound},
			{"old browser navigation", map[string]string{"Accept": "text/html"}, http.StatusFound},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/mail", nil)
				for k, v := range tc.header {
					req.Header.Set(k, v)
				}
				resp, err := e.noRedirects().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.want {
					t.Errorf("status %d, want %d (Location %q)", resp.StatusCode, tc.want, resp.Header.Get("Location"))
				}
			})
		}
	})
}

// TestServerFaultGives503NotRedirect: with the token endpoint failing, a
// signed-in user whose token must come from Entra gets a 503 page, never a
// consent redirect, and gets through once Entra recovers.
func TestServerFaultGives503NotRedirect(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			e := newEnv(t)
			e.idp.SetTokenLifetime(4 * time.Minute) // inside the 5 min refresh window: every request refreshes
			b := e.browser(e.user, entratest.Accept)
			if p := e.get(t, b, "/profile"); p.StatusCode != 200 {
				t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
			}
			e.idp.FailTokenRequests(100, status)
			for _, path := range []string{"/profile", "/mail"} { // refresh; new scope via refresh token
				p := e.get(t, b, path)
				if p.StatusCode != http.StatusServiceUnavailable || len(p.Trail) != 1 {
					t.Errorf("%s: %d, want one 503 response%s", path, p.StatusCode, trail(p))
				}
			}
			if n := e.idp.Count(entratest.EndpointAuthorize); n != 1 {
				t.Errorf("authorize called %d times, want 1 (the sign-in)", n)
			}
			e.idp.FailTokenRequests(0, 0)
			if p := e.get(t, b, "/profile"); p.StatusCode != 200 || len(p.Trail) != 1 {
				t.Errorf("after recovery: %d%s", p.StatusCode, trail(p))
			}
		})
	}
}

// TestTokenStoreOutage: with the shared store down, a user whose token is in
// the in-process cache keeps working; a request that needs the store gets 503,
// never a consent redirect; everything works again when the store returns.
func TestTokenStoreOutage(t *testing.T) {
	e := newEnv(t)
	store := &flakyStore{mem: tokencache.NewMemoryStore()}
	e.serveOver(t, store)
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != 200 {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	store.down.Store(true)
	if p := e.get(t, b, "/profile"); p.StatusCode != 200 {
		t.Errorf("cached user during outage: %d%s", p.StatusCode, trail(p))
	}
	for _, tc := range []struct {
		name string
		b    *entratest.Browser
		path string
	}{
		{"new scope of a signed-in user", b, "/mail"},
		{"new user", e.browser(e.addUser("newcomer"), entratest.Accept), "/profile"},
	} {
		p := e.get(t, tc.b, tc.path)
		if p.StatusCode != http.StatusServiceUnavailable || len(p.Trail) != 1 {
			t.Errorf("%s during outage: %d, want a 503 page%s", tc.name, p.StatusCode, trail(p))
		}
	}
	store.down.Store(false)
	if p := e.get(t, b, "/mail"); p.StatusCode != 200 {
		t.Errorf("after the outage: %d%s", p.StatusCode, trail(p))
	}
}

// flakyStore is a tokencache.Store that can be switched off like a Redis outage.
type flakyStore struct {
	mem  *tokencache.MemoryStore
	down atomic.Bool
}

func (s *flakyStore) err() error {
	if s.down.Load() {
		return fmt.Errorf("flaky: connection refused: %w", tokencache.ErrUnavailable)
	}
	return nil
}

func (s *flakyStore) Get(ctx context.Context, k string) ([]byte, bool, error) {
	if err := s.err(); err != nil {
		return nil, false, err
	}
	return s.mem.Get(ctx, k)
}

func (s *flakyStore) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.mem.Set(ctx, k, v, ttl)
}

func (s *flakyStore) Delete(ctx context.Context, k string) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.mem.Delete(ctx, k)
}

func TestGraphAndOwnAPISideBySide(t *testing.T) {
	e := newEnv(t)
	api := e.idp.AddApp(entratest.App{DisplayName: "Orders API", HomeTenantID: e.tenant.ID,
		ExposedScopes: []entratest.Permission{{Value: "Orders.Read", Description: "Read your orders"}}})
	scope := "api://" + api.ClientID + "/Orders.Read"
	var seen []string
	mux := http.NewServeMux()
	mux.Handle("/", e.routes(e.mw))
	mux.Handle("GET /orders", e.mw.Require(scope)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("orders"))
	})))
	e.setHandler(mux)
	b := e.browser(e.user, entratest.Accept)
	for _, path := range []string{"/profile", "/orders", "/profile", "/orders"} {
		p := e.get(t, b, path)
		if p.StatusCode != 200 {
			t.Fatalf("%s: %d%s", path, p.StatusCode, trail(p))
		}
		for _, c := range steps(p, "consent") {
			seen = append(seen, c.Scopes...)
		}
	}
	if !slices.Contains(seen, scope) || !slices.Contains(seen, "User.Read") || len(seen) != 2 {
		t.Errorf("consented to %v, want User.Read then %s once each", seen, scope)
	}
}

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

// TestRefreshHerd: concurrent requests of one user whose token must be
// refreshed cause one refresh at Entra.
func TestRefreshHerd(t *testing.T) {
	e := newEnv(t)
	e.idp.SetTokenLifetime(4 * time.Minute) // inside the refresh window: the next request refreshes
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != 200 {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	e.idp.SetTokenLifetime(0)
	e.idp.SetTokenLatency(300 * time.Millisecond) // keep the refresh in flight while the others arrive
	e.idp.ResetCounts()
	same := make([]*entratest.Browser, 20)
	for i := range same {
		same[i] = b
	}
	for i, c := range fireAll(t, e, same, "/profile") {
		if c != 200 {
			t.Errorf("request %d: status %d", i, c)
		}
	}
	if n := e.idp.Count(entratest.EndpointToken); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

// fireAll sends GET path for every browser at once (without following
// redirects) and returns the status codes.
func fireAll(t *testing.T, e *env, browsers []*entratest.Browser, path string) []int {
	t.Helper()
	codes := make([]int, len(browsers))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, b := range browsers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := b.Client.Get(e.srv.URL + path)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	return codes
}

// TestConditionalAccessAtRefreshCarriesClaims: when Conditional Access
// refuses a refresh (interaction_required with claims in the error body), the
// next authorize request carries those claims, so the user comes back with a
// token that satisfies the policy instead of looping through Entra
// (https://learn.microsoft.com/entra/identity-platform/developer-guide-conditional-access-authentication-context).
// A script gets a signin_url that carries them.
func TestConditionalAccessAtRefreshCarriesClaims(t *testing.T) {
	t.Run("browser", func(t *testing.T) {
		e := newEnv(t)
		b := refreshingUser(t, e) // the next request refreshes
		e.idp.SetTokenLifetime(0)
		e.idp.RequireClaims(e.user.ObjectID)
		p := e.get(t, b, "/profile")
		if p.StatusCode != http.StatusOK {
			t.Fatalf("after the refresh was refused: %d %s%s", p.StatusCode, p.Body, trail(p))
		}
		claims := authorizeClaims(p)
		if len(claims) != 1 || !strings.Contains(claims[0], `"acrs"`) || !strings.Contains(claims[0], `"c1"`) {
			t.Fatalf("authorize claims %q, want one round trip carrying the acrs the refresh asked for%s", claims, trail(p))
		}
		e.idp.ResetCounts()
		if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusOK || e.idp.Count(entratest.EndpointAuthorize) != 0 {
			t.Fatalf("next visit: %d, %d authorize requests%s", p.StatusCode, e.idp.Count(entratest.EndpointAuthorize), trail(p))
		}
	})
	t.Run("script", func(t *testing.T) {
		e := newEnv(t)
		b := refreshingUser(t, e)
		e.idp.SetTokenLifetime(0)
		e.idp.RequireClaims(e.user.ObjectID)
		status, signIn, raw := e.scriptGet(t, b, "/profile")
		if status != http.StatusUnauthorized || !strings.Contains(signIn, "claims=") {
			t.Fatalf("script: %d %s", status, raw)
		}
		if p := e.get(t, b, signIn); p.StatusCode != http.StatusOK || len(authorizeClaims(p)) != 1 {
			t.Fatalf("signin_url: %d %s%s", p.StatusCode, p.Body, trail(p))
		}
	})
}

// TestSilentWaitEndsAtItsDeadline: a request that joins another request's
// MSAL call for the same user and scopes stops waiting at its own silent
// deadline (503), not at the later one of the request that started the call.
func TestSilentWaitEndsAtItsDeadline(t *testing.T) {
	e := newEnv(t)
	store := &joinStore{flakyStore: flakyStore{mem: tokencache.NewMemoryStore()},
		flight: make(chan struct{}), release: make(chan struct{}), coldEntered: make(chan struct{})}
	e.serveOver(t, store)
	r := signedInRequest(t, e, e.browser(e.user, entratest.Accept))
	acct, _ := e.mw.Account(r)
	middleware.ForgetTokens(e.mw, acct.HomeAccountID)
	middleware.SetSilentLimit(e.mw, 200*time.Millisecond)
	store.on.Store(true)
	h := e.mw.Require("User.Read")(http.HandlerFunc(okHandler))
	late := httptest.NewRecorder() // joins the MSAL call after its own deadline passed
	lateDone := make(chan struct{})
	go func() { defer close(lateDone); h.ServeHTTP(late, r) }()
	<-store.coldEntered
	first := httptest.NewRecorder() // starts the MSAL call, whose store read waits for release
	firstDone := make(chan struct{})
	go func() { defer close(firstDone); h.ServeHTTP(first, r.Clone(context.Background())) }()
	select {
	case <-lateDone:
		if late.Code != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", late.Code)
		}
	case <-time.After(time.Minute):
		t.Error("a request still waits for another's MSAL call long after its own silent deadline")
	}
	close(store.release)
	<-lateDone
	<-firstDone
}

// joinStore is a flakyStore whose reads, once on, go: the first (a cold
// read) waits until the third (MSAL's read in the call the second request
// starts after its cold read missed) has begun and then until its own
// context ends, and misses; the second misses; the third waits for release.
type joinStore struct {
	flakyStore
	on          atomic.Bool
	n           atomic.Int32
	coldEntered chan struct{}
	flight      chan struct{}
	release     chan struct{}
}

func (s *joinStore) Get(ctx context.Context, k string) ([]byte, bool, error) {
	if !s.on.Load() {
		return s.flakyStore.Get(ctx, k)
	}
	n := s.n.Add(1)
	switch n {
	case 1:
		close(s.coldEntered)
		<-s.flight
		<-ctx.Done()
		return nil, false, nil // a miss that arrives as the deadline passes
	case 2:
		return nil, false, nil
	case 3:
		close(s.flight)
		<-s.release
	}
	return s.flakyStore.Get(ctx, k)
}
