package middleware_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// TestLoopGuardCountsOnlyFailedRoundTrips: the loop guard counts round trips
// that come back from Entra without what the route needs. Outages (503), the
// user's own sign-ins and sign-outs do not count, and a successful flow resets
// the count for its scopes.
func TestLoopGuardCountsOnlyFailedRoundTrips(t *testing.T) {
	type visit struct {
		path    string
		consent entratest.ConsentAction
		fail    int // token endpoint answers 503 this many times first
		signOut bool
		want    int
	}
	mail := "/auth/signin?redirect=%2F&scope=Mail.Read"
	signedIn := visit{path: "/profile", consent: entratest.Accept, want: http.StatusOK}
	tests := []struct {
		name   string
		visits []visit
	}{
		{"Entra down while redeeming the code", []visit{
			{path: "/profile", consent: entratest.Accept, fail: 1, want: http.StatusServiceUnavailable},
			{path: "/profile", consent: entratest.Accept, fail: 1, want: http.StatusServiceUnavailable},
			{path: "/profile", consent: entratest.Accept, fail: 1, want: http.StatusServiceUnavailable},
			{path: "/profile", consent: entratest.Accept, fail: 1, want: http.StatusServiceUnavailable},
			signedIn,
		}},
		{"sign-in clicks while signed in", []visit{signedIn,
			{path: "/auth/signin?redirect=%2Fprofile", want: http.StatusOK},
			{path: "/auth/signin?redirect=%2Fprofile", want: http.StatusOK},
			{path: "/auth/signin?redirect=%2Fprofile", want: http.StatusOK},
			{path: "/auth/signin?redirect=%2Fprofile", want: http.StatusOK},
		}},
		{"sign in and out", []visit{
			{path: "/profile", want: http.StatusOK, signOut: true},
			{path: "/profile", want: http.StatusOK, signOut: true},
			{path: "/profile", want: http.StatusOK, signOut: true},
			{path: "/profile", want: http.StatusOK, signOut: true},
		}},
		{"success resets the count", []visit{signedIn,
			{path: mail, consent: entratest.Decline, want: http.StatusForbidden},
			{path: mail, consent: entratest.Decline, want: http.StatusForbidden},
			{path: mail, consent: entratest.Accept, want: http.StatusOK},
			{path: mail, consent: entratest.Decline, want: http.StatusOK}, // granted: no consent page
			{path: "/profile", want: http.StatusOK},
		}},
		{"declines still stop", []visit{signedIn,
			{path: "/mail", consent: entratest.Decline, want: http.StatusForbidden},
			{path: "/mail", consent: entratest.Decline, want: http.StatusForbidden},
			{path: "/mail", consent: entratest.Decline, want: http.StatusForbidden},
			{path: "/mail", consent: entratest.Decline, want: http.StatusLoopDetected},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := e.browser(e.user, entratest.Accept)
			for i, v := range tc.visits {
				b.Consent = v.consent
				if v.fail > 0 {
					e.idp.FailTokenRequests(v.fail, http.StatusServiceUnavailable)
				}
				if p := e.get(t, b, v.path); p.StatusCode != v.want {
					t.Fatalf("visit %d %s: status %d, want %d%s", i+1, v.path, p.StatusCode, v.want, trail(p))
				}
				if v.signOut {
					signOut(t, e, b)
				}
			}
		})
	}
}

// signOut posts the sign-out form as the app's own page does.
func signOut(t *testing.T, e *env, b *entratest.Browser) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/auth/signout", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", e.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	c := *b.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
}

func TestDecliningAgainAndAgainIsStoppedByLoopGuard(t *testing.T) {
	e := newEnv(t)
	e.serveApp(t, nil)
	b := e.browser(e.user, entratest.Decline)
	for i := range middleware.DefaultMaxAttempts {
		if p := e.get(t, b, "/mail"); p.StatusCode != http.StatusForbidden || !strings.Contains(p.Body, "You declined") {
			t.Fatalf("attempt %d: %d%s", i+1, p.StatusCode, trail(p))
		}
	}
	e.idp.ResetCounts()
	p := e.get(t, b, "/mail")
	if p.StatusCode != http.StatusLoopDetected || e.idp.Count(entratest.EndpointAuthorize) != 0 {
		t.Fatalf("after %d declines: %d, %d authorize calls%s", middleware.DefaultMaxAttempts, p.StatusCode,
			e.idp.Count(entratest.EndpointAuthorize), trail(p))
	}
	// Another route is not affected.
	if p := e.get(t, b, "/calendar"); p.StatusCode != http.StatusForbidden || !strings.Contains(p.Body, "You declined") {
		t.Errorf("other route: %d%s", p.StatusCode, trail(p))
	}
}
