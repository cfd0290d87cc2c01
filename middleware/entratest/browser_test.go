package entratest_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// seen records the headers of the requests a test app got.
type seen struct {
	mu  sync.Mutex
	req map[string]http.Header // by method and path
}

func (s *seen) record(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.req[r.Method+" "+r.URL.Path] = r.Header.Clone()
}

func (s *seen) get(key string) http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.req[key]
}

// headerApp is a TLS app with a page, a form target, the middleware's
// resume page shape, and its target.
func headerApp(t *testing.T) (*httptest.Server, *seen) {
	s := &seen{req: map[string]http.Header{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		fmt.Fprintf(w, "at %s", r.URL.Path)
	})
	mux.HandleFunc("GET /resume", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<main><form method="post" id="consentry-resume" action="/done?a=1&amp;b=2"><button>Continue</button></form>`+
			`<script src="/resume.js"></script></main>`)
	})
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return srv, s
}

// TestBrowserPostsFromItsPage: a form post carries Origin, Referer and
// Sec-Fetch-Site as a browser sends them from the page the Browser is on;
// Header replaces them.
func TestBrowserPostsFromItsPage(t *testing.T) {
	idp := entratest.NewServer()
	defer idp.Close()
	app, s := headerApp(t)
	other, _ := headerApp(t)
	b := idp.NewBrowser(app.Certificate(), other.Certificate())
	check := func(key, origin, referer, site string) {
		t.Helper()
		h := s.get(key)
		if h.Get("Origin") != origin || h.Get("Referer") != referer || h.Get("Sec-Fetch-Site") != site {
			t.Errorf("%s: Origin %q Referer %q Sec-Fetch-Site %q; want %q %q %q", key,
				h.Get("Origin"), h.Get("Referer"), h.Get("Sec-Fetch-Site"), origin, referer, site)
		}
	}
	if _, err := b.PostForm(app.URL+"/first", url.Values{"a": {"1"}}); err != nil {
		t.Fatal(err)
	}
	check("POST /first", app.URL, app.URL+"/", "same-origin") // no page yet: a form on the app
	if _, err := b.Get(app.URL + "/page?q=1"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PostForm(app.URL+"/submit", url.Values{"a": {"1"}}); err != nil {
		t.Fatal(err)
	}
	check("POST /submit", app.URL, app.URL+"/page?q=1", "same-origin")
	if _, err := b.Get(other.URL + "/elsewhere"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PostForm(app.URL+"/from-other", nil); err != nil {
		t.Fatal(err)
	}
	check("POST /from-other", other.URL, other.URL+"/elsewhere", "same-site") // 127.0.0.1, another port
	b.Header = http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}, "Hx-Request": {"true"}}
	if _, err := b.PostForm(app.URL+"/forged", nil); err != nil {
		t.Fatal(err)
	}
	check("POST /forged", "https://evil.example", app.URL+"/from-other", "cross-site")
	if s.get("POST /forged").Get("HX-Request") != "true" {
		t.Errorf("Header not sent")
	}
}

// TestBrowserSubmitsTheResumePage: a Browser submits the page a script
// submits at once (the middleware's resume page), unless NoScript.
func TestBrowserSubmitsTheResumePage(t *testing.T) {
	idp := entratest.NewServer()
	defer idp.Close()
	app, s := headerApp(t)
	b := idp.NewBrowser(app.Certificate())
	p, err := b.Get(app.URL + "/resume")
	if err != nil || p.URL.RequestURI() != "/done?a=1&b=2" || p.Body != "at /done" || len(p.Trail) != 2 {
		t.Fatalf("scripted browser: %v %s %q %v", err, p.URL, p.Body, p.Trail)
	}
	if h := s.get("POST /done"); h.Get("Sec-Fetch-Site") != "same-origin" || h.Get("Referer") != app.URL+"/resume" {
		t.Errorf("resume post headers: %v", h)
	}
	b.NoScript = true
	if p, err := b.Get(app.URL + "/resume"); err != nil || p.URL.Path != "/resume" {
		t.Errorf("NoScript browser went on to %s: %v", p.URL, err)
	}
}

// TestBrowserFetch: Fetch is one request like a page's fetch(): Fetch
// metadata of a script, the page as Referer, no redirect followed.
func TestBrowserFetch(t *testing.T) {
	idp := entratest.NewServer()
	defer idp.Close()
	app, s := headerApp(t)
	b := idp.NewBrowser(app.Certificate())
	if _, err := b.Get(app.URL + "/page"); err != nil {
		t.Fatal(err)
	}
	p, err := b.Fetch(app.URL+"/api", http.Header{"Hx-Request": {"true"}})
	if err != nil || p.Body != "at /api" || len(p.Trail) != 1 {
		t.Fatalf("fetch: %v %+v", err, p)
	}
	h := s.get("GET /api")
	for k, want := range map[string]string{"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty", "Sec-Fetch-Site": "same-origin",
		"Referer": app.URL + "/page", "Accept": "*/*", "Origin": "", "Hx-Request": "true"} {
		if h.Get(k) != want {
			t.Errorf("%s: %q, want %q", k, h.Get(k), want)
		}
	}
}

// TestBrowserCompletesPostResume: against an app using the middleware, a
// Browser signs in, posts a form that needs consent, consents and lands on
// the handler's answer with the original form: no hand-written request.
func TestBrowserCompletesPostResume(t *testing.T) {
	idp := entratest.NewServer()
	defer idp.Close()
	tenant := idp.AddTenant(entratest.Tenant{Domain: "contoso.example"})
	user := idp.AddUser(entratest.User{TenantID: tenant.ID, UPN: "adele@contoso.example"})
	var mw *middleware.Middleware
	mux := http.NewServeMux()
	app := httptest.NewTLSServer(mux)
	defer app.Close()
	reg := idp.AddApp(entratest.App{HomeTenantID: tenant.ID, Secrets: []string{"s"}, RedirectURIs: []string{app.URL + "/auth/callback"}})
	cred, _ := confidential.NewCredFromSecret("s")
	mw, err := middleware.New(middleware.Config{Authority: idp.Authority(tenant.ID), ClientID: reg.ClientID, Credential: cred,
		RedirectURL: app.URL + "/auth/callback", SessionKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
		HTTPClient: idp.Client(), DisableInstanceDiscovery: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	mux.Handle("/auth/", mw.AuthHandler())
	mux.Handle("GET /compose", mw.Require("User.Read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "form") })))
	mux.Handle("POST /compose", mw.Require("Mail.Send")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "sent %q", r.FormValue("subject"))
	})))

	b := idp.NewBrowser(app.Certificate())
	b.User = user.UPN
	if p, err := b.Get(app.URL + "/compose"); err != nil || p.Body != "form" {
		t.Fatalf("sign-in: %v %+v", err, p)
	}
	p, err := b.PostForm(app.URL+"/compose", url.Values{"subject": {"hello"}})
	if err != nil || p.Body != `sent "hello"` {
		t.Fatalf("post resume: %v %q", err, p.Body)
	}
	var kinds []string
	for _, s := range p.Trail {
		kinds = append(kinds, s.Kind)
	}
	if !strings.Contains(strings.Join(kinds, " "), "consent") {
		t.Errorf("no consent on the way: %v", kinds)
	}
}

func TestBrowserStopsLoops(t *testing.T) {
	e := newEnv(t)
	var loop *httptest.Server
	loop = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, loop.URL+"/again", http.StatusFound)
	}))
	defer loop.Close()
	_, err := e.srv.NewBrowser(loop.Certificate()).Get(loop.URL)
	if !errors.Is(err, entratest.ErrLoop) {
		t.Fatalf("err = %v, want ErrLoop", err)
	}
}
