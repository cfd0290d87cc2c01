package middleware_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

// dropSessionCookie removes b's app session cookie, as if b's next request
// left before the answer to the previous one arrived.
func (e *env) dropSessionCookie(b *entratest.Browser) {
	u, _ := url.Parse(e.srv.URL)
	b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookieName, Value: "", Path: "/", MaxAge: -1}})
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
	for i, path := range []string{"/mail", "/calendar"} {
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
