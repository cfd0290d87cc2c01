package middleware_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

// signInRedirect returns the redirect parameter of a 401's signin_url.
func signInRedirect(t *testing.T, p *entratest.Page) string {
	t.Helper()
	if p.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401: %s", p.StatusCode, p.Body)
	}
	var body struct {
		SignInURL string `json:"signin_url"`
	}
	if err := json.Unmarshal([]byte(p.Body), &body); err != nil {
		t.Fatalf("401 body: %v %s", err, p.Body)
	}
	u, err := url.Parse(body.SignInURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("redirect")
}

// TestScriptSignInReturnsToThePage: a script's 401 names a sign-in URL that
// returns to the page the script runs on (htmx's HX-Current-URL, else the
// Referer) when that page is on the app's origin, else to the URL it called.
func TestScriptSignInReturnsToThePage(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name   string
		header http.Header
		want   string
	}{
		{"referer", http.Header{"Referer": {e.srv.URL + "/inbox?folder=2"}}, "/inbox?folder=2"},
		{"htmx current url", http.Header{"Hx-Request": {"true"}, "Hx-Current-Url": {e.srv.URL + "/board"}, "Referer": {e.srv.URL + "/other"}}, "/board"},
		{"htmx boosted navigation", http.Header{"Hx-Request": {"true"}, "Hx-Boosted": {"true"}, "Hx-Current-Url": {e.srv.URL + "/board"}}, "/api/mail?x=1"},
		{"referer of another site", http.Header{"Referer": {"https://evil.example/inbox"}}, "/api/mail?x=1"},
		{"no referer", http.Header{"Referer": nil}, "/api/mail?x=1"},
		{"referer of the same host over http", http.Header{"Referer": {"http://" + strings.TrimPrefix(e.srv.URL, "https://") + "/inbox"}}, "/api/mail?x=1"},
		{"referer of a host that extends the app's", http.Header{"Referer": {e.srv.URL + ".evil.example/inbox"}}, "/api/mail?x=1"},
		{"referer with a scheme-relative path", http.Header{"Referer": {e.srv.URL + "//evil.example/inbox"}}, "/api/mail?x=1"},
		{"referer with a backslash path", http.Header{"Referer": {e.srv.URL + "/\\evil.example/inbox"}}, "/api/mail?x=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser(e.user, entratest.Accept)
			p, err := b.Fetch(e.srv.URL+"/api/mail?x=1", tc.header)
			if err != nil {
				t.Fatal(err)
			}
			if got := signInRedirect(t, p); got != tc.want {
				t.Errorf("signin_url returns to %q, want %q", got, tc.want)
			}
		})
	}
}

// TestBearerChallenge: the 401 carries RFC 6750's Bearer challenge next to
// the middleware's own: no error code without a signed-in user (RFC 6750
// section 3.1), error="insufficient_scope" with the scopes when consent is
// missing (https://www.rfc-editor.org/rfc/rfc6750#section-3.1).
func TestBearerChallenge(t *testing.T) {
	e := newEnv(t)
	b := e.browser(e.user, entratest.Accept)
	host := strings.TrimPrefix(e.srv.URL, "https://")
	check := func(want string) {
		t.Helper()
		p, err := b.Fetch(e.srv.URL+"/api/mail", nil)
		if err != nil || p.StatusCode != http.StatusUnauthorized {
			t.Fatalf("fetch: %v %d", err, p.StatusCode)
		}
		got := p.Header.Values("WWW-Authenticate")
		if !slices.Contains(got, want) {
			t.Errorf("WWW-Authenticate %q, want %q among them", got, want)
		}
		if !slices.ContainsFunc(got, func(v string) bool { return strings.HasPrefix(v, "Consentry ") }) {
			t.Errorf("WWW-Authenticate %q lost the Consentry challenge", got)
		}
	}
	check(`Bearer realm="` + host + `", scope="Mail.Read"`)
	e.get(t, b, "/profile") // signed in, without Mail.Read
	check(`Bearer realm="` + host + `", error="insufficient_scope", scope="Mail.Read"`)
}

// TestHTMXGetsHXRedirect: htmx ignores a 401's body; HX-Redirect makes it
// load the sign-in URL, which returns to the page htmx runs on.
func TestHTMXGetsHXRedirect(t *testing.T) {
	e := newEnv(t)
	b := e.browser(e.user, entratest.Accept)
	p, err := b.Fetch(e.srv.URL+"/api/mail", http.Header{"Hx-Request": {"true"}, "Hx-Current-Url": {e.srv.URL + "/inbox"}})
	if err != nil {
		t.Fatal(err)
	}
	loc, err := url.Parse(p.Header.Get("HX-Redirect"))
	if err != nil || loc.Path != "/auth/signin" || loc.Query().Get("redirect") != "/inbox" || loc.Query().Get("scope") != "Mail.Read" {
		t.Fatalf("HX-Redirect %q, want the sign-in URL for Mail.Read returning to /inbox", p.Header.Get("HX-Redirect"))
	}
	// What htmx then does: load it as the page.
	if p := e.get(t, b, loc.String()); p.URL.Path != "/inbox" || len(steps(p, "consent")) != 1 {
		t.Errorf("after HX-Redirect: %s%s", p.URL, trail(p))
	}
	// A request that is not htmx's gets no HX-Redirect.
	if p, _ := b.Fetch(e.srv.URL+"/calendar", nil); p.Header.Get("HX-Redirect") != "" {
		t.Errorf("HX-Redirect sent to a plain fetch")
	}
}
