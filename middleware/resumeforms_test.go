package middleware_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gorilla/csrf"

	"github.com/consentry/consentry/middleware/entratest"
)

var csrfFieldRE = regexp.MustCompile(`name="gorilla.csrf.Token" value="([^"]+)"`)

// csrfApp is start5's app behind gorilla/csrf, which checks a token in every
// form, plus GET /form, the page with the compose form and its token.
func (e *env) csrfApp(t *testing.T, resumeForms bool) *testApp {
	t.Helper()
	a := e.serveApp(t, nil)
	mux := http.NewServeMux()
	mux.Handle("/", e.handler)
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<form method="post" action="/compose">` + string(csrf.TemplateField(r)) + `</form>`))
	})
	var h http.Handler = csrf.Protect([]byte("0123456789abcdef0123456789abcdef"))(mux)
	if resumeForms {
		h = a.mw.ResumeForms(h) // outermost
	}
	e.setHandler(h)
	return a
}

// postWithToken loads /form and posts the compose form with its CSRF token.
func postWithToken(t *testing.T, e *env, b *entratest.Browser, subject string) *entratest.Page {
	t.Helper()
	m := csrfFieldRE.FindStringSubmatch(e.get(t, b, "/form").Body)
	if m == nil {
		t.Fatal("no CSRF token on /form")
	}
	p, err := b.PostForm(e.srv.URL+"/compose", url.Values{"subject": {subject}, "gorilla.csrf.Token": {html.UnescapeString(m[1])}})
	if err != nil {
		t.Fatalf("post: %v%s", err, trail(p))
	}
	return p
}

// TestResumeFormsPassesGorillaCSRF: with ResumeForms outermost, a form kept
// across consent reaches gorilla/csrf with its original fields, token
// included, and completes once; without it the resume page's re-post has
// no token and gorilla/csrf refuses it.
func TestResumeFormsPassesGorillaCSRF(t *testing.T) {
	for _, tc := range []struct {
		name        string
		resumeForms bool
		status      int
		posts       int32
	}{
		{"with ResumeForms", true, http.StatusOK, 1},
		{"without", false, http.StatusForbidden, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			a := e.csrfApp(t, tc.resumeForms)
			b := e.idp.NewBrowser(e.srv.Certificate()) // runs the resume page's script
			b.User = e.user.UPN
			e.get(t, b, "/profile")
			p := postWithToken(t, e, b, "guarded")
			if len(steps(p, "consent")) != 1 || p.StatusCode != tc.status || a.posts.Load() != tc.posts {
				t.Fatalf("status %d, %d posts; want %d, %d: %s%s", p.StatusCode, a.posts.Load(), tc.status, tc.posts, p.Body, trail(p))
			}
			if tc.resumeForms && !strings.Contains(p.Body, `subject="guarded"`) {
				t.Errorf("the handler did not get the form: %s", p.Body)
			}
		})
	}
}

// TestResumeFormsStillRefusesForgedPosts: ResumeForms does not weaken
// gorilla/csrf: a post without the token is refused before it is kept.
func TestResumeFormsStillRefusesForgedPosts(t *testing.T) {
	e := newEnv(t)
	a := e.csrfApp(t, true)
	b := e.browser(e.user, entratest.Accept)
	e.get(t, b, "/profile")
	p, err := b.PostForm(e.srv.URL+"/compose", url.Values{"subject": {"forged"}})
	if err != nil || p.StatusCode != http.StatusForbidden || len(steps(p, "consent")) != 0 || a.posts.Load() != 0 {
		t.Fatalf("post without token: %v %d, %d posts%s", err, p.StatusCode, a.posts.Load(), trail(p))
	}
}

// TestCrossOriginProtectionPassesResume: Go's http.CrossOriginProtection
// around the whole app lets the resume page's same-origin re-post through
// (no ResumeForms needed) and refuses another site's form.
func TestCrossOriginProtectionPassesResume(t *testing.T) {
	e := newEnv(t)
	a := e.serveApp(t, nil)
	e.setHandler(http.NewCrossOriginProtection().Handler(e.handler))
	b := e.idp.NewBrowser(e.srv.Certificate())
	b.User = e.user.UPN
	e.get(t, b, "/profile")
	p, err := b.PostForm(e.srv.URL+"/compose", url.Values{"subject": {"cop"}})
	if err != nil || p.StatusCode != http.StatusOK || a.posts.Load() != 1 || !strings.Contains(p.Body, `subject="cop"`) {
		t.Fatalf("resumed post: %v %d %d posts %s%s", err, p.StatusCode, a.posts.Load(), p.Body, trail(p))
	}
	b.Header = http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}
	if p, err := b.PostForm(e.srv.URL+"/compose", url.Values{"subject": {"evil"}}); err != nil || p.StatusCode != http.StatusForbidden || a.posts.Load() != 1 {
		t.Fatalf("cross-site post: %v %d %d posts", err, p.StatusCode, a.posts.Load())
	}
}

// TestResumeFormsIsBoundAndSingleUse: ResumeForms restores a kept form only
// for the session that kept it, at the URL it was kept for, once: another
// browser's re-post, or the owner's to another path, gets no form (410) and
// leaves it to its owner.
func TestResumeFormsIsBoundAndSingleUse(t *testing.T) {
	e := newEnv(t)
	a := e.serveApp(t, nil)
	var unguarded atomic.Int32
	mux := http.NewServeMux()
	mux.Handle("/", e.handler)
	mux.HandleFunc("POST /unguarded", func(w http.ResponseWriter, r *http.Request) {
		unguarded.Add(1)
		fmt.Fprintf(w, "unguarded subject=%q", r.FormValue("subject"))
	})
	e.setHandler(a.mw.ResumeForms(mux))
	b := e.browser(e.user, entratest.Accept) // stops at the resume page
	e.get(t, b, "/profile")
	p, err := b.PostForm(e.srv.URL+"/compose", url.Values{"subject": {"kept"}})
	m := actionRE.FindStringSubmatch(p.Body)
	if err != nil || m == nil {
		t.Fatalf("no resume form: %v%s", err, trail(p))
	}
	action, _ := url.Parse(e.srv.URL + html.UnescapeString(m[1]))
	other := e.browser(e.user, entratest.Accept)
	e.get(t, other, "/profile")
	elsewhere := e.srv.URL + "/unguarded?" + action.RawQuery
	for name, try := range map[string]func() (*entratest.Page, error){
		"another browser":            func() (*entratest.Page, error) { return other.PostForm(action.String(), url.Values{}) },
		"the owner, at another path": func() (*entratest.Page, error) { return b.PostForm(elsewhere, url.Values{}) },
	} {
		if p, err := try(); err != nil || p.StatusCode != http.StatusGone || strings.Contains(p.Body, "kept") {
			t.Errorf("%s: %v %d %s", name, err, p.StatusCode, p.Body)
		}
	}
	if a.posts.Load() != 0 || unguarded.Load() != 0 {
		t.Fatalf("a handler ran: compose %d, unguarded %d", a.posts.Load(), unguarded.Load())
	}
	if p, err := b.PostForm(action.String(), url.Values{}); err != nil || p.StatusCode != 200 || !strings.Contains(p.Body, `subject="kept"`) {
		t.Fatalf("the owner's re-post: %v %d %s", err, p.StatusCode, p.Body)
	}
	if p, err := b.PostForm(action.String(), url.Values{}); err != nil || p.StatusCode != http.StatusGone || a.posts.Load() != 1 {
		t.Errorf("replay: %v %d, %d posts", err, p.StatusCode, a.posts.Load())
	}
}
