package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware"
)

// flowStartCookies starts a sign-in on h at base and returns the cookies set.
func flowStartCookies(t *testing.T, h http.Handler, base string) map[string]*http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, base+"/profile", nil))
	if w.Code != http.StatusFound {
		t.Fatalf("GET /profile: %d, want 302 to Entra", w.Code)
	}
	out := map[string]*http.Cookie{}
	for _, c := range w.Result().Cookies() {
		name := c.Name
		if i := strings.Index(name, "_f_"); i >= 0 {
			name = name[:i+3] // one flow cookie: its id varies
		}
		out[name] = c
	}
	return out
}

// TestHostPrefixedCookies: over https the session and flow cookies are
// __Host- cookies (Secure, Path=/, no Domain), except the session cookie of
// an app under another BasePath; over http on localhost they keep their
// plain names and the flow cookie its callback path.
func TestHostPrefixedCookies(t *testing.T) {
	e := newEnv(t)
	got := flowStartCookies(t, e.routes(e.mw), e.srv.URL)
	for _, name := range []string{"__Host-consentry", "__Host-consentry_f_"} {
		c := got[name]
		if c == nil || !c.Secure || c.Path != "/" || c.Domain != "" {
			t.Errorf("https: cookie %s = %+v, want Secure, Path=/, no Domain (all set: %v)", name, c, got)
		}
	}
	cfg := e.cfg
	cfg.RedirectURL = e.srv.URL + "/app/auth/callback" // a session cookie on /app/ cannot be a __Host- cookie
	got = flowStartCookies(t, http.StripPrefix("/app", e.routes(e.newMiddleware(t, cfg))), e.srv.URL+"/app")
	if c := got["consentry"]; c == nil || !c.Secure || !strings.HasPrefix(c.Path, "/app") || got["__Host-consentry_f_"] == nil {
		t.Errorf("https under /app/: cookies %v, want consentry (Secure, on /app) and __Host-consentry_f_<id>", got)
	}
	cfg.RedirectURL = "http://localhost:8080/auth/callback"
	got = flowStartCookies(t, e.routes(e.newMiddleware(t, cfg)), "http://localhost:8080")
	if c := got["consentry"]; c == nil || c.Secure {
		t.Errorf("http: session cookie %+v, want consentry, not Secure", c)
	}
	if c := got["consentry_f_"]; c == nil || c.Path != "/auth/callback" {
		t.Errorf("http: flow cookie %+v, want consentry_f_<id> on /auth/callback", c)
	}
}

// TestTossedSessionCookieIgnored: a valid session cookie planted without the
// prefix (as a site on a sibling subdomain can) signs nobody in.
func TestTossedSessionCookieIgnored(t *testing.T) {
	e := newEnv(t)
	mallory := middleware.SessionCookie(e.newMiddleware(t, e.cfg), middleware.Account{HomeAccountID: "mallory.tid", Username: "mallory"})
	r := httptest.NewRequest(http.MethodGet, e.srv.URL+"/", nil)
	r.AddCookie(&http.Cookie{Name: middleware.DefaultSessionName, Value: mallory.Value})
	if acct, ok := e.mw.Account(r); ok {
		t.Errorf("a tossed cookie signed in %s", acct.Username)
	}
	// The same value under the prefixed name does sign mallory in: only the
	// name is refused, not a cookie that never decoded.
	r = httptest.NewRequest(http.MethodGet, e.srv.URL+"/", nil)
	r.AddCookie(&http.Cookie{Name: sessionCookieName, Value: mallory.Value})
	if acct, ok := e.mw.Account(r); !ok || acct.Username != "mallory" {
		t.Errorf("the cookie under %s signed in %q (%v), want mallory", sessionCookieName, acct.Username, ok)
	}
}
