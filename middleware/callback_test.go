package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/middleware/internal/flowstore"
)

func TestDeclineEndsOnClearPage(t *testing.T) {
	e := newEnv(t)
	b := e.browser(e.user, entratest.Decline)
	p := e.get(t, b, "/mail")
	if p.StatusCode != http.StatusForbidden || !strings.Contains(p.Body, "You declined the permissions") {
		t.Fatalf("decline: %d %q%s", p.StatusCode, p.Body, trail(p))
	}
	if !strings.Contains(p.Body, "Mail.Read") || !strings.Contains(p.Body, "Try again") {
		t.Errorf("decline page should name the permission and offer a retry: %q", p.Body)
	}
	// Entra sends the same answer when the user was not allowed to consent:
	// the page says a decline is fine and offers the administrator's link.
	if !strings.Contains(p.Body, "Declining is fine") || !strings.Contains(p.Body, "only an administrator") {
		t.Errorf("decline page should cover both a decline and a user not allowed to consent: %q", p.Body)
	}
	if link := adminLink(t, p); link != e.srv.URL+"/auth/adminconsent?redirect=%2Fmail&scope=Mail.Read" {
		t.Errorf("admin link %q", link)
	}
	if n := e.idp.Count(entratest.EndpointAuthorize); n != 1 {
		t.Errorf("authorize called %d times, want 1 (no loop)", n)
	}
	if p.URL.Host != strings.TrimPrefix(e.srv.URL, "https://") {
		t.Errorf("ended at %s", p.URL)
	}
}

// startFlow makes b's first request to path without following the redirect and
// returns the authorize URL the app sent it to.
func startFlow(t *testing.T, e *env, b *entratest.Browser, path string) string {
	t.Helper()
	resp, err := b.Client.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, e.idp.URL) {
		t.Fatalf("GET %s: %d Location %q", path, resp.StatusCode, loc)
	}
	return loc
}

// callbackURL returns the app callback URL (with code and state) in p's trail.
func callbackURL(t *testing.T, e *env, p *entratest.Page) string {
	t.Helper()
	for _, s := range p.Trail {
		if strings.HasPrefix(s.URL, e.srv.URL+"/auth/callback?") {
			return s.URL
		}
	}
	t.Fatalf("no callback in trail%s", trail(p))
	return ""
}

func TestStateIsCheckedOnCallback(t *testing.T) {
	e := newEnv(t)

	t.Run("forged", func(t *testing.T) {
		b := e.browser(e.user, entratest.Accept)
		startFlow(t, e, b, "/profile") // a real pending flow exists, with another state
		p := e.get(t, b, "/auth/callback?code=abc&state=forged-state")
		expect400(t, p)
	})
	t.Run("missing", func(t *testing.T) {
		p := e.get(t, e.browser(e.user, entratest.Accept), "/auth/callback?code=abc")
		expect400(t, p)
	})
	t.Run("replayed", func(t *testing.T) {
		b := e.browser(e.user, entratest.Accept)
		p := e.get(t, b, "/profile")
		if p.StatusCode != 200 {
			t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
		}
		p = e.get(t, b, strings.TrimPrefix(callbackURL(t, e, p), e.srv.URL))
		expect400(t, p)
	})
	t.Run("expired", func(t *testing.T) {
		b := e.browser(e.user, entratest.Accept)
		e.mu.Lock()
		e.before = func(r *http.Request) {
			if r.URL.Path == "/auth/callback" {
				e.clock.Advance(11 * time.Minute)
			}
		}
		e.mu.Unlock()
		defer func() { e.mu.Lock(); e.before = nil; e.mu.Unlock() }()
		expect400(t, e.get(t, b, "/profile"))
	})
	t.Run("cross-session", func(t *testing.T) {
		victim := e.browser(e.user, entratest.Accept)
		attacker := e.browser(e.addUser("mallory"), entratest.Accept)
		authURL := startFlow(t, e, attacker, "/profile")
		p, err := victim.Get(authURL) // the victim completes the attacker's flow
		if err != nil {
			t.Fatal(err)
		}
		expect400(t, p)
		if strings.Contains(p.Body, "mallory") {
			t.Error("victim was signed in as the attacker")
		}
	})
}

func expect400(t *testing.T, p *entratest.Page) {
	t.Helper()
	if p.StatusCode != http.StatusBadRequest || !strings.Contains(p.Body, "no longer valid") {
		t.Fatalf("want 400 invalid state page, got %d %q%s", p.StatusCode, p.Body, trail(p))
	}
}

func TestDeclinedPageWithoutStateShowsNoFreeText(t *testing.T) {
	mw, _ := middleware.New(validConfig(t))
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "https://app.example/auth/callback?error=access_denied&error_subcode=cancel&error_description=AADSTS65004%3A+Call+555-EVIL.%0D%0ATrace+ID%3A+1", nil)
	mw.AuthHandler().ServeHTTP(w, r)
	body := w.Body.String()
	if w.Code != http.StatusForbidden || !strings.Contains(body, "You declined") || !strings.Contains(body, "try again") {
		t.Errorf("page: %d %s", w.Code, body)
	}
	if strings.Contains(body, "555-EVIL") {
		t.Error("page reflects the description of an unauthenticated callback")
	}
}

// TestForeignCallbackLeavesVictimFlow: another browser that learned a
// victim's state (from a log, a shared screen, a Referer) and opens the
// callback with it is refused, and the victim's pending sign-in is left
// untouched: the victim's own callback still completes. The attacker's
// browser has a binding id of its own, or a forged flow cookie named after
// the victim's flow; neither proves the flow.
func TestForeignCallbackLeavesVictimFlow(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, e *env, atk *entratest.Browser, state string)
	}{
		{"attacker with a binding id", func(t *testing.T, e *env, atk *entratest.Browser, _ string) {
			startFlow(t, e, atk, "/profile")
		}},
		{"attacker with a forged flow cookie", func(t *testing.T, e *env, atk *entratest.Browser, state string) {
			u, _ := url.Parse(e.srv.URL)
			atk.Client.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookieName + "_f_" + flowstore.ID(state), Value: "forged", Path: "/"}})
		}},
		{"signed-in attacker", func(t *testing.T, e *env, atk *entratest.Browser, _ string) {
			if p := e.get(t, atk, "/profile"); p.StatusCode != http.StatusOK {
				t.Fatalf("attacker sign-in: %d%s", p.StatusCode, trail(p))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			victim := e.browser(e.user, entratest.Accept)
			atk := e.browser(e.addUser("mallory"), entratest.Accept)
			authURL := startFlow(t, e, victim, "/profile")
			u, _ := url.Parse(authURL)
			state := u.Query().Get("state")
			if state == "" {
				t.Fatalf("no state in %s", authURL)
			}
			tt.setup(t, e, atk, state)
			expect400(t, e.get(t, atk, "/auth/callback?code=junk&state="+url.QueryEscape(state)))
			p := open(t, victim, authURL)
			if p.StatusCode != http.StatusOK || !strings.Contains(p.Body, "page /profile") || !strings.Contains(p.Body, "user="+e.user.UPN) {
				t.Errorf("victim's round trip after the foreign callback: %d %s%s", p.StatusCode, p.Body, trail(p))
			}
		})
	}
}

// TestAuthCodeRedemptionNotRetried: a code is single use, so a 5xx while
// redeeming it ends on the 503 page after one token request.
func TestAuthCodeRedemptionNotRetried(t *testing.T) {
	e := newEnv(t)
	var s sleeps
	middleware.SetRetry(e.mw, s.sleep, 0)
	e.idp.FailTokenRequests(1, http.StatusInternalServerError)
	p := e.get(t, e.browser(e.user, entratest.Accept), "/profile")
	if p.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503%s", p.StatusCode, trail(p))
	}
	if n := e.idp.Count(entratest.EndpointToken); n != 1 || len(s.list()) != 0 {
		t.Errorf("%d token requests and %d waits, want 1 and 0", n, len(s.list()))
	}
}

// TestSingleTenantAppAtOrganizations: Entra refuses a single-tenant app at
// "organizations" with AADSTS50194, redirected to the app
// (https://learn.microsoft.com/en-us/answers/a/982308). The user ends on the
// sign-in failed page naming the code, once, not in a loop; Config.Authority
// must name the app's tenant.
func TestSingleTenantAppAtOrganizations(t *testing.T) {
	e := newEnv(t)
	single := e.idp.AddApp(entratest.App{DisplayName: "Single", HomeTenantID: e.tenant.ID,
		Secrets: []string{testSecret}, RedirectURIs: []string{e.srv.URL + "/auth/callback"}})
	cfg := e.config(t, nil)
	cfg.ClientID = single.ClientID
	e.setHandler(e.routes(e.newMiddleware(t, cfg)))
	p := e.get(t, e.browser(e.user, entratest.Accept), "/profile")
	if p.StatusCode != http.StatusBadRequest || !strings.Contains(p.Body, "Sign-in failed") || !strings.Contains(p.Body, "AADSTS50194") {
		t.Fatalf("single-tenant app at organizations: %d %q%s", p.StatusCode, p.Body, trail(p))
	}
	if n := e.idp.Count(entratest.EndpointAuthorize); n != 1 {
		t.Errorf("authorize called %d times, want 1 (no loop)", n)
	}

	cfg.Authority = e.idp.Authority(e.tenant.ID) // the app's tenant: signs in
	e.setHandler(e.routes(e.newMiddleware(t, cfg)))
	if p := e.get(t, e.browser(e.user, entratest.Accept), "/profile"); p.StatusCode != http.StatusOK {
		t.Fatalf("at the tenant's authority: %d %q%s", p.StatusCode, p.Body, trail(p))
	}
}

// TestSignInCombinationAddsNoRoute: a sign-in link combining declared scopes
// in a set no route uses signs the user in without growing the route table,
// so users cannot make the server number every combination.
func TestSignInCombinationAddsNoRoute(t *testing.T) {
	e := newEnv(t)
	a := e.serveApp(t, nil)
	before := middleware.RouteCount(a.mw)
	b := e.browser(e.addUser("combo"), entratest.Accept)
	open(t, b, e.srv.URL+a.mw.SignInURL("/", "User.Read", "Mail.Read"))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(e.sessionCookie(t, b))
	if _, ok := a.mw.Account(r); !ok {
		t.Fatal("not signed in after the sign-in link")
	}
	if got := middleware.RouteCount(a.mw); got != before {
		t.Errorf("route ids after sign-in = %d, want %d", got, before)
	}
}
