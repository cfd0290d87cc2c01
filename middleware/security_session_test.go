package middleware_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/sessions"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// sessionCookie returns b's app session cookie.
func (e *env) sessionCookie(t *testing.T, b *entratest.Browser) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(e.srv.URL)
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == sessionCookieName || c.Name == middleware.DefaultSessionName { // default store; server-side store
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// TestServerSideSessionGetsNewIDAtSignIn: with a server-side session store a
// session id planted in the victim's browser before sign-in (session
// fixation) is not signed in afterwards.
func TestServerSideSessionGetsNewIDAtSignIn(t *testing.T) {
	e := newEnv(t)
	fs := sessions.NewFilesystemStore(t.TempDir(), sessionKeys...)
	fs.Options.Secure = true
	e.start5(t, func(c *middleware.Config) { c.Sessions = fs })
	atk := e.browser(e.addUser("mallory"), entratest.Accept)
	atk.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := atk.Client.Get(e.srv.URL + "/profile") // a pre-sign-in session with a pending flow
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	planted := e.sessionCookie(t, atk)

	v := e.browser(e.user, entratest.Accept)
	u, _ := url.Parse(e.srv.URL)
	v.Client.Jar.SetCookies(u, []*http.Cookie{{Name: "consentry", Value: planted.Value, Path: "/"}})
	if p := e.get(t, v, "/profile"); p.StatusCode != http.StatusOK || !strings.Contains(p.Body, "user="+e.user.UPN) {
		t.Fatalf("victim sign-in: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	if e.sessionCookie(t, v).Value == planted.Value {
		t.Error("the session cookie did not change at sign-in")
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/profile", nil)
	req.AddCookie(&http.Cookie{Name: "consentry", Value: planted.Value})
	resp, err = e.noRedirects().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || strings.Contains(string(body), e.user.UPN) {
		t.Errorf("the planted session id is signed in as the victim: %d %s", resp.StatusCode, body)
	}
}

// TestScriptsGet401NotRedirect: requests from scripts, fetch() with its
// defaults included, get a 401 JSON answer; page navigations get the 302.
func TestScriptsGet401NotRedirect(t *testing.T) {
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
	for i, path := range []string{"/mail", "/calendar"} {
		if p := open(t, b, locs[i]); p.StatusCode != http.StatusOK || !strings.Contains(p.Body, "page "+path) {
			t.Errorf("%s round trip: %d %s%s", path, p.StatusCode, p.Body, trail(p))
		}
	}
}
