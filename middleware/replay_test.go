package middleware_test

import (
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
)

func TestPostResumesAfterConsentOnce(t *testing.T) {
	e := newEnv(t)
	a := e.serveApp(t, nil)
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != 200 {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	form := url.Values{"subject": {"quarterly numbers"}, "to": {"bob@contoso.example"}}
	p, err := b.PostForm(e.srv.URL+"/compose?draft=7", form)
	if err != nil {
		t.Fatalf("post: %v%s", err, trail(p))
	}
	if len(steps(p, "consent")) != 1 || p.StatusCode != 200 || p.URL.Path != "/auth/resume" {
		t.Fatalf("want consent, then the resume page: %d %s%s", p.StatusCode, p.URL, trail(p))
	}
	if strings.Contains(p.Body, "quarterly") || a.posts.Load() != 0 {
		t.Fatalf("the form left the server or ran early: %s", p.Body)
	}
	resumeLink := p.URL.String()
	m := actionRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no resume form: %s", p.Body)
	}
	action := e.srv.URL + html.UnescapeString(m[1])
	p, err = b.PostForm(action, url.Values{})
	if err != nil || p.StatusCode != 200 {
		t.Fatalf("resume: %v %d%s", err, p.StatusCode, trail(p))
	}
	want := `sent #1 method=POST subject="quarterly numbers" to="bob@contoso.example" query=draft=7`
	if p.Body != want {
		t.Errorf("handler got %q, want %q", p.Body, want)
	}
	// Replays: the re-post and the resume link do nothing.
	for _, replay := range []func() (*entratest.Page, error){
		func() (*entratest.Page, error) { return b.PostForm(action, url.Values{}) },
		func() (*entratest.Page, error) { return b.Get(resumeLink) },
	} {
		rp, err := replay()
		if err != nil || rp.StatusCode != http.StatusGone || !strings.Contains(rp.Body, "already sent") {
			t.Errorf("replay: %v %d%s", err, rp.StatusCode, trail(rp))
		}
	}
	if n := a.posts.Load(); n != 1 {
		t.Errorf("handler ran %d times, want 1", n)
	}
}

func TestResumeIsBoundToTheSession(t *testing.T) {
	e := newEnv(t)
	a := e.serveApp(t, nil)
	b := e.browser(e.user, entratest.Accept)
	e.get(t, b, "/profile")
	p, err := b.PostForm(e.srv.URL+"/compose", url.Values{"subject": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	m := actionRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no resume form:%s", trail(p))
	}
	action := e.srv.URL + html.UnescapeString(m[1])
	other := e.browser(e.user, entratest.Accept)
	e.get(t, other, "/profile")
	if p, err := other.PostForm(action, url.Values{}); err != nil || p.StatusCode != http.StatusGone {
		t.Fatalf("another session's re-post: %v %d", err, p.StatusCode)
	}
	if p, err := b.PostForm(action, url.Values{}); err != nil || p.StatusCode != 200 || a.posts.Load() != 1 {
		t.Fatalf("owner after the attempt: %v %d %d", err, p.StatusCode, a.posts.Load())
	}
}

func TestPostTooLargeGets413BeforeEntra(t *testing.T) {
	e := newEnv(t)
	a := e.serveApp(t, func(c *middleware.Config) { c.MaxResumeBody = 64 })
	b := e.browser(e.user, entratest.Accept)
	e.get(t, b, "/profile")
	e.idp.ResetCounts()
	p, err := b.PostForm(e.srv.URL+"/compose", url.Values{"subject": {strings.Repeat("x", 100)}})
	if err != nil || p.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(p.Body, "too large") {
		t.Fatalf("big post: %v %d %s", err, p.StatusCode, p.Body)
	}
	if n := e.idp.Count(entratest.EndpointAuthorize); n != 0 || a.posts.Load() != 0 {
		t.Errorf("%d authorize calls, %d handler runs", n, a.posts.Load())
	}
}

func TestPostResumeAcrossFirstSignIn(t *testing.T) {
	e := newEnv(t)
	a := e.serveApp(t, nil)
	b := e.browser(e.user, entratest.Accept)
	p, err := b.PostForm(e.srv.URL+"/compose", url.Values{"subject": {"first"}})
	if err != nil || len(steps(p, "signin")) != 1 {
		t.Fatalf("post before sign-in: %v%s", err, trail(p))
	}
	m := actionRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no resume form:%s %s", trail(p), p.Body)
	}
	p, err = b.PostForm(e.srv.URL+html.UnescapeString(m[1]), nil)
	if err != nil || p.StatusCode != 200 || !strings.Contains(p.Body, `subject="first"`) || a.posts.Load() != 1 {
		t.Fatalf("resume after the first sign-in: %v %d %q", err, p.StatusCode, p.Body)
	}
}

// anonymousPost posts body to /compose from the app's origin without a
// signed-in user (cli has its own cookie jar, or none) and returns the status.
func (e *env) anonymousPost(t *testing.T, cli *http.Client, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/compose", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Origin", e.srv.URL)
	resp, err := cli.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAnonymousKeptBodies: without a signed-in user a body is kept only up
// to MaxAnonymousResumeBody, and one browser session holds at most a few
// pending flows and kept bodies in the flow store, however often it posts.
func TestAnonymousKeptBodies(t *testing.T) {
	e := newEnv(t)
	flows := tokencache.NewMemoryStore()
	e.serveApp(t, func(c *middleware.Config) { c.FlowStore = flows })
	if s := e.anonymousPost(t, e.noRedirects(), strings.Repeat("x", middleware.MaxAnonymousResumeBody+1)); s != http.StatusRequestEntityTooLarge {
		t.Errorf("anonymous post over the limit: %d, want 413", s)
	}
	cli := e.noRedirects()
	cli.Jar, _ = cookiejar.New(nil)
	for range 20 {
		if s := e.anonymousPost(t, cli, "subject=x"); s != http.StatusFound {
			t.Fatalf("anonymous post: %d, want 302", s)
		}
	}
	if n := flows.Len(); n == 0 || n > 2*4+1 { // maxPending flows and kept bodies, one loop counter
		t.Errorf("one session's 20 posts left %d entries in Config.FlowStore", n)
	}
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
			a := e.serveApp(t, nil)
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
	a := e.serveApp(t, nil)
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
