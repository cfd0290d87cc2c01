package middleware_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// authorizeClaims returns the claims parameters of the authorize requests in p's trail.
func authorizeClaims(p *entratest.Page) []string {
	var out []string
	for _, s := range p.Trail {
		if u, err := url.Parse(s.URL); err == nil && strings.HasSuffix(u.Path, "/oauth2/v2.0/authorize") {
			out = append(out, u.Query().Get("claims"))
		}
	}
	return out
}

func TestClaimsChallengeRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.start5(t, func(c *middleware.Config) { c.ClientCapabilities = []string{"cp1"} })
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/me"); p.StatusCode != 200 || !strings.Contains(p.Body, "graph 200") {
		t.Fatalf("before the rule: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	e.idp.RequireClaims(e.user.ObjectID) // Conditional Access on Graph for this user
	e.idp.ResetCounts()
	p := e.get(t, b, "/me")
	if p.StatusCode != 200 || !strings.Contains(p.Body, "graph 200") {
		t.Fatalf("after the challenge: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	claims := authorizeClaims(p)
	if len(claims) != 1 || !strings.Contains(claims[0], `"acrs"`) || !strings.Contains(claims[0], `"cp1"`) {
		t.Fatalf("authorize claims %q, want one round trip with acrs and cp1", claims)
	}
	if n := len(steps(p, "signin")) + len(steps(p, "consent")); n != 0 {
		t.Errorf("the claims round trip showed %d pages:%s", n, trail(p))
	}
	// The new token satisfies the rule from the fast path on.
	e.idp.ResetCounts()
	if p := e.get(t, b, "/me"); p.StatusCode != 200 || e.idp.Count(entratest.EndpointAuthorize) != 0 {
		t.Fatalf("next visit: %d%s", p.StatusCode, trail(p))
	}
}

func TestClaimsChallengeRepeatingIsStoppedByLoopGuard(t *testing.T) {
	e := newEnv(t)
	claims := base64.StdEncoding.EncodeToString([]byte(`{"access_token":{"acrs":{"essential":true,"value":"c9"}}}`))
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", error="insufficient_claims", claims="`+claims+`"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(api.Close)
	a := e.start5(t, nil)
	a.api = api.URL
	b := e.browser(e.user, entratest.Accept)
	e.get(t, b, "/profile") // signed in with User.Read; the counter is per signed-in session
	e.idp.ResetCounts()
	p := e.get(t, b, "/me")
	if p.StatusCode != http.StatusLoopDetected || !strings.Contains(p.Body, "keeps failing") {
		t.Fatalf("want the loop page, got %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	if n := e.idp.Count(entratest.EndpointAuthorize); n != middleware.DefaultMaxAttempts {
		t.Errorf("authorize called %d times, want %d", n, middleware.DefaultMaxAttempts)
	}
	// Reloading does not start again within FlowTTL; after it, one more try is allowed.
	e.idp.ResetCounts()
	if p := e.get(t, b, "/me"); p.StatusCode != http.StatusLoopDetected || e.idp.Count(entratest.EndpointAuthorize) != 0 {
		t.Errorf("reload: %d, %d authorize calls%s", p.StatusCode, e.idp.Count(entratest.EndpointAuthorize), trail(p))
	}
	e.clock.Advance(middleware.FlowTTL + 1)
	e.idp.ResetCounts()
	if p := e.get(t, b, "/me"); p.StatusCode != http.StatusLoopDetected || e.idp.Count(entratest.EndpointAuthorize) != middleware.DefaultMaxAttempts {
		t.Errorf("after FlowTTL: %d, %d authorize calls%s", p.StatusCode, e.idp.Count(entratest.EndpointAuthorize), trail(p))
	}
}
