package middleware_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware/entratest"
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

func TestReturnURLsStayOnOrigin(t *testing.T) {
	e := newEnv(t)
	evil := []string{
		"//evil.test", `/\evil.test`, "https://evil.test", "%2F%2Fevil.test", "/%2F%2Fevil.test",
		"/%5Cevil.test", `\\evil.test`, "http:evil.test", "javascript:alert(1)", "///evil.test",
		"/%252F%252Fevil.test", "/\r\nLocation:https://evil.test", " //evil.test",
	}
	for _, r := range evil {
		t.Run(r, func(t *testing.T) {
			b := e.browser(e.user, entratest.Accept)
			p, err := b.Get(e.srv.URL + "/auth/signin?redirect=" + url.QueryEscape(r))
			if err != nil {
				t.Fatalf("%v%s", err, trail(p))
			}
			if p.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400%s", p.StatusCode, trail(p))
			}
			for _, s := range p.Trail {
				if strings.Contains(s.URL, "evil.test") && !strings.HasPrefix(s.URL, e.srv.URL+"/auth/signin?") {
					t.Errorf("left the origin: %s", s.URL)
				}
			}
		})
	}
	t.Run("good path resumes", func(t *testing.T) {
		b := e.browser(e.user, entratest.Accept)
		p := e.get(t, b, "/auth/signin?redirect="+url.QueryEscape("/mail?x=1")+"&scope=Mail.Read")
		if p.StatusCode != 200 || p.URL.Path != "/mail" || p.URL.RawQuery != "x=1" {
			t.Fatalf("resume: %d %s%s", p.StatusCode, p.URL, trail(p))
		}
	})
}
