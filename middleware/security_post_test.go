package middleware_test

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

// headerTransport sets headers on the browser's POSTs to the app, except
// the resume page's re-post: a form another site (or a script) sends.
type headerTransport struct {
	base   http.RoundTripper
	header http.Header
}

func (t *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && !strings.Contains(r.URL.RawQuery, "consentry_resume") {
		r = r.Clone(r.Context())
		for k, v := range t.header {
			r.Header[k] = v
		}
	}
	return t.base.RoundTrip(r)
}

// dropSession forgets b's app cookie, as a browser does not send a SameSite=Lax
// cookie with another site's form post.
func (e *env) dropSession(b *entratest.Browser) {
	u, _ := url.Parse(e.srv.URL)
	b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookieName, Value: "", MaxAge: -1, Path: "/"}})
}

// postResumed posts form to path with b and, when the post was kept across a
// round trip to Entra, submits the resume page's form as its script would.
func (e *env) postResumed(t *testing.T, b *entratest.Browser, path string, form url.Values) *entratest.Page {
	t.Helper()
	p, err := b.PostForm(e.srv.URL+path, form)
	if err != nil {
		t.Fatalf("POST %s: %v%s", path, err, trail(p))
	}
	if m := actionRE.FindStringSubmatch(p.Body); m != nil {
		if p, err = b.PostForm(e.srv.URL+html.UnescapeString(m[1]), nil); err != nil {
			t.Fatalf("resume %s: %v%s", path, err, trail(p))
		}
	}
	return p
}

// TestCrossSitePostIsNeverReplayed: another site's form posted to a Require
// route (the session cookie stays behind) is neither kept nor replayed after
// the silent sign-in: the user gets a 403 page, the handler never runs.
func TestCrossSitePostIsNeverReplayed(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
	}{
		{"other origin", http.Header{"Origin": {"https://evil.example"}}},
		{"sec-fetch-site cross-site", http.Header{"Origin": {"null"}, "Sec-Fetch-Site": {"cross-site"}}},
		{"sec-fetch-site same-site", http.Header{"Origin": {"https://www.app.example"}, "Sec-Fetch-Site": {"same-site"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			a := e.start5(t, nil)
			b := e.browser(e.user, entratest.Accept)
			if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusOK {
				t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
			}
			if p := e.postResumed(t, b, "/compose", url.Values{"subject": {"legit"}}); a.posts.Load() != 1 {
				t.Fatalf("legit post: %d posts: %d %s%s", a.posts.Load(), p.StatusCode, p.Body, trail(p))
			}
			e.dropSession(b)
			b.Client.Transport = &headerTransport{base: b.Client.Transport, header: tc.header}
			p, err := b.PostForm(e.srv.URL+"/compose", url.Values{"subject": {"ATTACKER"}})
			if err != nil {
				t.Fatalf("post: %v%s", err, trail(p))
			}
			if m := actionRE.FindStringSubmatch(p.Body); m != nil {
				p, _ = b.PostForm(e.srv.URL+html.UnescapeString(m[1]), nil)
				t.Fatalf("a cross-site form was kept; its re-post answered %d %s", p.StatusCode, p.Body)
			}
			if p.StatusCode != http.StatusForbidden || !strings.Contains(p.Body, "send the form again from the app") {
				t.Errorf("cross-site post: %d %s%s", p.StatusCode, p.Body, trail(p))
			}
			if n := a.posts.Load(); n != 1 || strings.Contains(p.Body, "ATTACKER") {
				t.Errorf("handler ran %d times; page %s", n, p.Body)
			}
		})
	}
}

// TestPostToUnsafeURLIsNotKept: a post whose URL is not a plain same-origin
// path (here one a router passed through as "//evil.example/compose") is not
// kept, so the resume page can never post to another origin.
func TestPostToUnsafeURLIsNotKept(t *testing.T) {
	e := newEnv(t)
	a := e.start5(t, nil)
	h := a.mw.Require("Mail.Send")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("handler ran") }))
	for _, p := range []string{"//evil.example/compose", "/\\evil.example/compose"} {
		req := httptest.NewRequest(http.MethodPost, e.srv.URL+"/compose", strings.NewReader("subject=x"))
		req.URL.Path = p
		req.Header.Set("Origin", e.srv.URL)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest || rec.Header().Get("Location") != "" {
			t.Errorf("POST %s: %d Location %q, want 400 without a redirect", p, rec.Code, rec.Header().Get("Location"))
		}
	}
}
