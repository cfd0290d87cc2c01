package middleware_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

// authorizeScopes returns the scope parameter of the authorize requests in p's trail.
func authorizeScopes(t *testing.T, p *entratest.Page) [][]string {
	t.Helper()
	var out [][]string
	for _, s := range p.Trail {
		u, err := url.Parse(s.URL)
		if err != nil || !strings.HasSuffix(u.Path, "/oauth2/v2.0/authorize") || u.Query().Get("scope") == "" {
			continue
		}
		out = append(out, strings.Fields(u.Query().Get("scope")))
	}
	return out
}

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
