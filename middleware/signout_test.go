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
)

// TestSignOutOnlyFromThisSite: sign-out happens only for a request from the
// app's own pages (or typed in); anything else gets a confirmation page with
// a POST button and leaves the user signed in.
func TestSignOutOnlyFromThisSite(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		headers map[string]string
		want    int // 303: signed out
	}{
		{"form post from the app", "POST", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "{app}"}, http.StatusSeeOther},
		{"typed in the address bar", "GET", map[string]string{"Sec-Fetch-Site": "none"}, http.StatusSeeOther},
		{"link on the app, no fetch metadata", "GET", map[string]string{"Referer": "{app}/profile"}, http.StatusSeeOther},
		{"post with Origin only", "POST", map[string]string{"Origin": "{app}"}, http.StatusSeeOther},
		{"image on another site", "GET", map[string]string{"Sec-Fetch-Site": "cross-site", "Referer": "https://evil.test/"}, http.StatusOK},
		{"link from a sibling site", "GET", map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusOK},
		{"link, no headers", "GET", nil, http.StatusOK},
		{"referer of another site", "GET", map[string]string{"Referer": "https://evil.test/{app}"}, http.StatusOK},
		{"form post from another site", "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"}, http.StatusForbidden},
		{"post, Origin of another site", "POST", map[string]string{"Origin": "https://evil.test"}, http.StatusForbidden},
		{"post, Origin null", "POST", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"post, no headers", "POST", nil, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			acct := middleware.Account{HomeAccountID: "oid." + e.tenant.ID, TenantID: e.tenant.ID}
			middleware.SeedToken(e.mw, acct, middleware.Token{AccessToken: "t", ExpiresOn: e.clock.Now().Add(time.Hour), Scopes: []string{"User.Read"}})
			c := middleware.SessionCookie(e.mw, acct)
			r := httptest.NewRequest(tc.method, e.srv.URL+e.mw.SignOutURL(), nil)
			r.AddCookie(c)
			for k, v := range tc.headers {
				r.Header.Set(k, strings.ReplaceAll(v, "{app}", e.srv.URL))
			}
			w := httptest.NewRecorder()
			e.mw.AuthHandler().ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			signedIn := middleware.TokenCount(e.mw) == 1
			if tc.want == http.StatusSeeOther {
				if signedIn || !strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0") {
					t.Errorf("not signed out: %d tokens, Set-Cookie %q", middleware.TokenCount(e.mw), w.Header().Get("Set-Cookie"))
				}
				return
			}
			if !signedIn || w.Header().Get("Set-Cookie") != "" {
				t.Errorf("signed out by a request from elsewhere")
			}
			if !strings.Contains(w.Body.String(), `method="post" action="`+e.mw.SignOutURL()+`"`) {
				t.Errorf("no sign-out button: %s", w.Body)
			}
		})
	}
}

// TestSignOutReachesEveryReplica: after sign-out on replica A, a copy of the
// session cookie still works on replica B for at most a minute (B's memo of
// the cookie), then B treats it as signed out; no token is served with it.
func TestSignOutReachesEveryReplica(t *testing.T) {
	e := newEnv(t)
	a, b := e.routes(e.mw), e.routes(e.newMiddleware(t, e.cfg)) // same keys and token cache
	e.setHandler(a)
	adele := e.browser(e.user, entratest.Accept)
	if p := e.get(t, adele, "/profile"); p.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	copied := e.sessionCookie(t, adele)
	onB := func() int {
		r := httptest.NewRequest(http.MethodGet, e.srv.URL+"/profile", nil)
		r.AddCookie(copied)
		w := httptest.NewRecorder()
		b.ServeHTTP(w, r)
		return w.Code
	}
	if c := onB(); c != http.StatusOK {
		t.Fatalf("replica B before sign-out: %d", c)
	}
	r := httptest.NewRequest(http.MethodPost, e.srv.URL+e.mw.SignOutURL(), nil)
	r.Header.Set("Origin", e.srv.URL)
	r.AddCookie(copied)
	w := httptest.NewRecorder()
	a.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("sign-out on A: %d", w.Code)
	}
	e.clock.Advance(time.Minute + time.Second) // past B's memo of the cookie
	for i := range 3 {
		if c := onB(); c != http.StatusFound {
			t.Fatalf("replica B, request %d after sign-out: %d, want 302 to sign in", i, c)
		}
	}
}

func TestSignOutForgetsUserAndTokens(t *testing.T) {
	e := newEnv(t)
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != 200 {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	appURL, _ := url.Parse(e.srv.URL)
	oldCookies := b.Client.Jar.Cookies(appURL)

	p, err := b.PostForm(e.srv.URL+"/auth/signout", nil)
	if err != nil {
		t.Fatalf("sign-out: %v%s", err, trail(p))
	}
	var logout *url.URL
	for _, s := range p.Trail {
		if u, _ := url.Parse(s.URL); strings.HasSuffix(u.Path, "/oauth2/v2.0/logout") {
			logout = u
		}
	}
	if logout == nil || logout.Query().Get("post_logout_redirect_uri") != e.srv.URL+"/" {
		t.Fatalf("no Entra logout with post_logout_redirect_uri:%s", trail(p))
	}
	for _, c := range b.Client.Jar.Cookies(appURL) {
		if c.Name == sessionCookieName {
			t.Errorf("session cookie still set after sign-out")
		}
	}
	// Replaying the old session cookie: neither the in-process cache nor the
	// token cache partition has a token left, so the user must sign in again.
	replay := e.browser(e.user, entratest.Accept)
	replay.Client.Jar.SetCookies(appURL, oldCookies)
	resp, err := replay.Client.Get(e.srv.URL + "/profile")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.idp.URL) {
		t.Errorf("old cookie after sign-out: %d %q, want a redirect to sign in", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestSignOutForgetsInProcessTokens: sign-out drops the user's in-process
// tokens, so a copy of the old session cookie gets no token (it is sent to
// sign in again).
func TestSignOutForgetsInProcessTokens(t *testing.T) {
	e := newEnv(t)
	b := e.browser(e.user, entratest.Accept)
	for _, path := range []string{"/profile", "/mail"} {
		if p := e.get(t, b, path); p.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d%s", path, p.StatusCode, trail(p))
		}
	}
	if n := middleware.TokenCount(e.mw); n != 2 {
		t.Fatalf("%d in-process tokens, want 2", n)
	}
	old := b.Client.Jar.Cookies(mustURL(t, e.srv.URL))
	if _, err := b.PostForm(e.srv.URL+"/auth/signout", nil); err != nil {
		t.Fatalf("sign-out: %v", err)
	}
	if n := middleware.TokenCount(e.mw); n != 0 {
		t.Errorf("%d in-process tokens after sign-out, want 0", n)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/profile", nil)
	for _, c := range old {
		req.AddCookie(c)
	}
	resp, err := noRedirects(e).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("old cookie after sign-out: status %d, want 302 to sign in", resp.StatusCode)
	}
}
