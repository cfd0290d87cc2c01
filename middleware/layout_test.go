package middleware_test

import (
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// appLayout draws the middleware's pages in "the app's layout", marking
// each link and form so the test can find them.
var appLayout = template.Must(template.New("app").Parse(`<!doctype html><html><body><main class="app-layout" data-status="{{.Status}}">
<h1>{{.Title}}</h1><p>{{.Message}}</p><p>{{.Todo}}</p>
{{range .Links}}<a data-link="{{.ID}}" href="{{.URL}}">{{.Label}}</a>{{end}}
{{with .Form}}<form id="{{.ID}}" method="{{.Method}}" action="{{.Action}}"><button type="submit">{{.Button}}</button></form>{{end}}
{{with .Script}}<script src="{{.}}"></script>{{end}}
</main></body></html>`))

func renderAppLayout(w http.ResponseWriter, r *http.Request, p middleware.Page) {
	if errors.Is(p.Err, middleware.ErrConsentDeclined) {
		p.Title = "No worries: " + p.Title // the app rewords one page, keeping the rest
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(p.Status)
	_ = appLayout.Execute(w, p)
}

var layoutLinkRE = regexp.MustCompile(`data-link="([a-z]+)"`)

// TestEveryBuiltInPageInTheAppLayout: Config.RenderPage draws every page the
// middleware shows, with its status, default text, links and form.
func TestEveryBuiltInPageInTheAppLayout(t *testing.T) {
	e := newEnv(t)
	e.serveApp(t, func(c *middleware.Config) { c.RenderPage = renderAppLayout })
	signedIn := func(name string) *entratest.Browser { // a user who has not granted Mail.Send
		b := e.browser(e.addUser(name), entratest.Accept)
		e.get(t, b, "/profile")
		return b
	}
	crossSite := http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}, "Referer": nil}
	for _, tc := range []struct {
		name   string
		open   func() (*entratest.Page, error)
		status int
		title  string
		links  string // the ids of the links, in order
		form   string // the id of the form, if any
	}{
		{"declined", func() (*entratest.Page, error) {
			return e.browser(e.user, entratest.Decline).Get(e.srv.URL + "/profile")
		}, http.StatusForbidden, "No worries: The permissions were not granted", "retry admin home", ""},
		{"administrator must approve", func() (*entratest.Page, error) {
			return e.browser(e.user, entratest.Accept).Get(e.srv.URL + "/directory")
		}, http.StatusForbidden, "Your administrator must approve this app", "retry admin home", ""},
		{"not found", func() (*entratest.Page, error) {
			return e.browser(e.user, entratest.Accept).Get(e.srv.URL + "/auth/nowhere")
		}, http.StatusNotFound, "Not found", "home", ""},
		{"almost done", func() (*entratest.Page, error) {
			return signedIn("carol").PostForm(e.srv.URL+"/compose", url.Values{"subject": {"x"}})
		}, http.StatusOK, "Almost done", "", "consentry-resume"},
		{"cross-site form", func() (*entratest.Page, error) {
			b := signedIn("dan")
			b.Header = crossSite
			return b.PostForm(e.srv.URL+"/compose", url.Values{"subject": {"x"}})
		}, http.StatusForbidden, "Please send the form again from the app", "home", ""},
		{"sign-out from elsewhere", func() (*entratest.Page, error) {
			b := signedIn("erin")
			b.Header = crossSite
			return b.Get(e.srv.URL + "/auth/signout")
		}, http.StatusOK, "Sign out?", "home", "consentry-sign-out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.open()
			if err != nil {
				t.Fatalf("%v%s", err, trail(p))
			}
			if !strings.Contains(p.Body, `<main class="app-layout"`) || p.StatusCode != tc.status {
				t.Fatalf("not the app's layout, or status %d want %d: %s%s", p.StatusCode, tc.status, p.Body, trail(p))
			}
			if !strings.Contains(p.Body, "<h1>"+template.HTMLEscapeString(tc.title)+"</h1>") {
				t.Errorf("title: want %q in %s", tc.title, p.Body)
			}
			var ids []string
			for _, m := range layoutLinkRE.FindAllStringSubmatch(p.Body, -1) {
				ids = append(ids, m[1])
			}
			if got := strings.Join(ids, " "); got != tc.links {
				t.Errorf("links %q, want %q", got, tc.links)
			}
			if tc.form != "" && !strings.Contains(p.Body, `<form id="`+tc.form+`" method="post"`) {
				t.Errorf("no form %s: %s", tc.form, p.Body)
			}
		})
	}
}

// inlineRE finds what a Content-Security-Policy without 'unsafe-inline'
// blocks: a script element without src, a style element or attribute, an
// event handler attribute.
var inlineRE = regexp.MustCompile(`(?i)<script(\s[^>]*)?>\s*[^<\s]|<script>|<style|\sstyle=|\son[a-z]+=`)

// TestResumePageUnderStrictCSP: the resume page (default look) has no inline
// script or style; its script is served by AuthHandler, so it completes
// under script-src 'self', as a scripted Browser shows.
func TestResumePageUnderStrictCSP(t *testing.T) {
	e := newEnv(t)
	a := e.serveApp(t, nil)
	b := e.browser(e.user, entratest.Accept)
	e.get(t, b, "/profile")
	p, err := b.PostForm(e.srv.URL+"/compose", url.Values{"subject": {"csp"}})
	if err != nil || p.URL.Path != "/auth/resume" {
		t.Fatalf("want the resume page: %v%s", err, trail(p))
	}
	if m := inlineRE.FindString(p.Body); m != "" {
		t.Errorf("inline script or style %q on the resume page:\n%s", m, p.Body)
	}
	m := regexp.MustCompile(`<script src="([^"]+)"></script>`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("the resume page loads no script: %s", p.Body)
	}
	for _, asset := range []struct{ path, typ, holds string }{
		{m[1], "text/javascript", `getElementById("consentry-resume")`},
		{"/auth/consentry.css", "text/css", "font-family"},
	} {
		resp, err := b.Client.Get(e.srv.URL + asset.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), asset.typ) || !strings.Contains(string(body), asset.holds) {
			t.Errorf("%s: %d %s %q", asset.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	b.NoScript = false // a browser running the page's script
	if p, err := b.Get(p.URL.String()); err != nil || a.posts.Load() != 1 || !strings.Contains(p.Body, `subject="csp"`) {
		t.Fatalf("the resume page did not complete: %v %d posts%s", err, a.posts.Load(), trail(p))
	}
}

// TestErrorPagesHaveNoInlineStyle: the default look of the other pages
// holds no inline style or script either.
func TestErrorPagesHaveNoInlineStyle(t *testing.T) {
	e := newEnv(t)
	p := e.get(t, e.browser(e.user, entratest.Decline), "/profile")
	if p.StatusCode != http.StatusForbidden || inlineRE.MatchString(p.Body) || !strings.Contains(p.Body, `href="/auth/consentry.css"`) {
		t.Errorf("declined page: %d %s", p.StatusCode, p.Body)
	}
}

// TestErrorHandlerFallbackUsesTheLayout: an app's ErrorHandler that draws
// one error itself and passes the rest to DefaultErrorHandler still gets
// them in Config.RenderPage's layout.
func TestErrorHandlerFallbackUsesTheLayout(t *testing.T) {
	e := newEnv(t)
	cfg := e.cfg
	cfg.RenderPage = renderAppLayout
	cfg.ErrorHandler = func(w http.ResponseWriter, r *http.Request, status int, err error) {
		if errors.Is(err, middleware.ErrAdminConsentRequired) {
			http.Error(w, "ask your admin", status)
			return
		}
		middleware.DefaultErrorHandler(w, r, status, err)
	}
	e.setHandler(e.routes(e.newMiddleware(t, cfg)))
	p := e.get(t, e.browser(e.user, entratest.Accept), "/auth/nowhere")
	if p.StatusCode != http.StatusNotFound || !strings.Contains(p.Body, `<main class="app-layout"`) {
		t.Errorf("fallback page: %d %s", p.StatusCode, p.Body)
	}
}
