package middleware_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
)

func TestScopeDriftAsksOnlyForTheNewScope(t *testing.T) {
	e := newEnv(t)
	e.idp.SetRequiredPermissions(e.app.ClientID, []string{"User.Read"}, nil)
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != 200 || len(steps(p, "consent")) != 1 {
		t.Fatalf("first visit: %d%s", p.StatusCode, trail(p))
	}
	// The developer adds a Mail.Read route (and the permission to the registration).
	e.idp.SetRequiredPermissions(e.app.ClientID, []string{"User.Read", "Mail.Read"}, nil)
	p := e.get(t, b, "/mail")
	consents := steps(p, "consent")
	if p.StatusCode != 200 || len(consents) != 1 || !slices.Equal(consents[0].Scopes, []string{"Mail.Read"}) {
		t.Fatalf("drift: want one consent page for Mail.Read only:%s", trail(p))
	}
	if len(steps(p, "signin")) != 0 {
		t.Errorf("drift asked to sign in again:%s", trail(p))
	}
	e.idp.ResetCounts()
	for _, path := range []string{"/profile", "/mail", "/profile"} {
		if p := e.get(t, b, path); p.StatusCode != 200 || len(p.Trail) != 1 {
			t.Fatalf("%s after drift: %d%s", path, p.StatusCode, trail(p))
		}
	}
	if n := e.entraCalls(); n != 0 {
		t.Errorf("nothing should be asked again, Entra saw %d calls", n)
	}
}

// TestConcurrentFlowsInOneBrowserBothComplete: two tabs start round trips at
// once; each answer saves the cookie with its own pending flow and the last
// one wins. Both callbacks still complete (the flows are bound to the
// session's binding id).
func TestConcurrentFlowsInOneBrowserBothComplete(t *testing.T) {
	e := newEnv(t)
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	u, _ := url.Parse(e.srv.URL)
	before := e.sessionCookie(t, b)
	cli := *b.Client
	cli.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var locs []string
	for _, path := range []string{"/mail", "/calendar"} {
		b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookieName, Value: before.Value, Path: "/"}})
		resp, err := cli.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("%s: %d, want 302 to Entra", path, resp.StatusCode)
		}
		locs = append(locs, resp.Header.Get("Location"))
	}
	completeFlows(t, b, []string{"/mail", "/calendar"}, locs)
}

// TestConcurrentFirstFlowsInNewBrowserBothComplete: two tabs of a browser
// without a session cookie start round trips at the same moment; each answer
// sets a session with its own binding id and the second overwrites the
// first. Both callbacks complete: each flow has its own flow cookie.
func TestConcurrentFirstFlowsInNewBrowserBothComplete(t *testing.T) {
	e := newEnv(t)
	b := e.browser(e.user, entratest.Accept)
	var locs []string
	for _, path := range []string{"/mail", "/calendar"} {
		e.dropSessionCookie(b)
		locs = append(locs, startFlow(t, e, b, path))
	}
	completeFlows(t, b, []string{"/mail", "/calendar"}, locs)
}

// completeFlows follows each authorize URL of locs in b and checks that the
// round trip ends on the page of the path at the same index.
func completeFlows(t *testing.T, b *entratest.Browser, paths, locs []string) {
	t.Helper()
	for i, path := range paths {
		if p := open(t, b, locs[i]); p.StatusCode != http.StatusOK || !strings.Contains(p.Body, "page "+path) {
			t.Errorf("%s round trip: %d %s%s", path, p.StatusCode, p.Body, trail(p))
		}
	}
}

// TestFlowStartedBeforeFirstSignInCompletes: a tab starts a flow in an
// anonymous session, another tab signs in (which renews the binding id);
// the first tab's callback still completes.
func TestFlowStartedBeforeFirstSignInCompletes(t *testing.T) {
	e := newEnv(t)
	b := e.browser(e.user, entratest.Accept)
	first := startFlow(t, e, b, "/mail")
	if p := e.get(t, b, "/calendar"); p.StatusCode != http.StatusOK {
		t.Fatalf("/calendar: %d%s", p.StatusCode, trail(p))
	}
	if p := open(t, b, first); p.StatusCode != http.StatusOK || !strings.Contains(p.Body, "page /mail") {
		t.Errorf("/mail round trip: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
}

// stopAtCallback is a transport that does not deliver requests to the app's
// callback, so a test can hand the callback URL to another browser.
type stopAtCallback struct {
	base     http.RoundTripper
	callback string
}

func (s stopAtCallback) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.String(), s.callback) {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("stopped")), Request: r}, nil
	}
	return s.base.RoundTrip(r)
}

// TestFirstFlowCookieIsNoLoginCSRF: an attacker's callback (code and state of
// a flow the attacker started and completed at Entra) opened in a victim's
// brand-new browser that started its own flow at the same moment is refused:
// the victim is not signed in as the attacker, and signs in as themself.
func TestFirstFlowCookieIsNoLoginCSRF(t *testing.T) {
	e := newEnv(t)
	mallory := e.addUser("mallory")
	atk := e.browser(mallory, entratest.Accept)
	atk.Client.Transport = stopAtCallback{base: atk.Client.Transport, callback: e.srv.URL + "/auth/callback?"}
	victim := e.browser(e.user, entratest.Accept)

	startFlow(t, e, victim, "/profile") // the victim's fresh session and flow cookie
	cb := callbackURL(t, e, e.get(t, atk, "/profile"))
	p := open(t, victim, cb)
	expect400(t, p)
	if strings.Contains(p.Body, mallory.UPN) {
		t.Errorf("the victim's page names the attacker: %s", p.Body)
	}
	if p := e.get(t, victim, "/profile"); p.StatusCode != http.StatusOK || !strings.Contains(p.Body, "user="+e.user.UPN) {
		t.Errorf("victim after the attack: %d %s%s", p.StatusCode, p.Body, trail(p))
	}

}

// TestCallbackOnReplicaBehind: a sign-in started on one replica completes
// when its callback lands on a replica whose clock is four minutes behind.
func TestCallbackOnReplicaBehind(t *testing.T) {
	e := newEnv(t)
	cfg := e.cfg
	cfg.FlowStore = tokencache.NewMemoryStore() // shared by the two replicas
	e.setHandler(e.routes(e.newMiddleware(t, cfg)))
	b := e.browser(e.user, entratest.Accept)
	toEntra := startRoundTrip(t, e, b, "/profile")
	cfg.Now = func() time.Time { return e.clock.Now().Add(-4 * time.Minute) }
	e.setHandler(e.routes(e.newMiddleware(t, cfg)))
	if p := open(t, b, toEntra); p.StatusCode != http.StatusOK {
		t.Errorf("callback on a replica 4 minutes behind: %d%s", p.StatusCode, trail(p))
	}
}

// TestFreshBrowserWithSeveralAccountsPicksOne: a browser new to the app, with
// several accounts signed in at Entra, gets Entra's account picker (the
// middleware knows no user to hint) and signs in as the account the user
// picks (https://learn.microsoft.com/entra/identity-platform/msal-js-sso#without-user-hint).
// A user the app knows is hinted (login_hint): no picker.
func TestFreshBrowserWithSeveralAccountsPicksOne(t *testing.T) {
	e := newEnv(t)
	bob := e.addUser("bob")
	b := e.browser(e.user, entratest.Accept)
	for _, u := range []entratest.User{e.user, bob} { // both sign in at Entra, not at the app
		b.User = u.UPN
		q := url.Values{"client_id": {e.app.ClientID}, "response_type": {"code"}, "scope": {"openid"},
			"redirect_uri": {e.cfg.RedirectURL}, "state": {"elsewhere"}, "prompt": {"login"}}
		if _, err := b.Get(e.idp.Authority("organizations") + "/oauth2/v2.0/authorize?" + q.Encode()); err != nil {
			t.Fatal(err)
		}
	}
	jar, _ := cookiejar.New(nil) // a fresh browser for the app: only Entra's cookies
	for _, origin := range []string{e.idp.URL, e.idp.FrontChannelURL()} {
		u, _ := url.Parse(origin)
		jar.SetCookies(u, b.Client.Jar.Cookies(u))
	}
	b.Client.Jar = jar

	b.User = bob.UPN // the account the user picks
	p := e.get(t, b, "/profile")
	if p.StatusCode != http.StatusOK || !strings.Contains(p.Body, "user="+bob.UPN) {
		t.Fatalf("sign-in through the account picker: %d %q%s", p.StatusCode, p.Body, trail(p))
	}
	if n := len(steps(p, "signin")); n != 1 {
		t.Errorf("%d sign-in pages, want the account picker once%s", n, trail(p))
	}
	e.idp.ResetCounts()
	p = e.get(t, b, "/mail") // now known: hinted, no picker
	if p.StatusCode != http.StatusOK || !strings.Contains(p.Body, "user="+bob.UPN) || len(steps(p, "signin")) != 0 {
		t.Fatalf("known user: %d %q%s", p.StatusCode, p.Body, trail(p))
	}
	if e.idp.Count(entratest.EndpointAuthorize) != 1 {
		t.Errorf("authorize requests %d, want 1", e.idp.Count(entratest.EndpointAuthorize))
	}
}
