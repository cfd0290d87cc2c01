package middleware_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

func TestPostResumesAfterConsentOnce(t *testing.T) {
	e := newEnv(t)
	a := e.start5(t, nil)
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
	a := e.start5(t, nil)
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
	a := e.start5(t, func(c *middleware.Config) { c.MaxResumeBody = 64 })
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
