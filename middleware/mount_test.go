package middleware_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/mux"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// prefixed is a test app mounted under /app/ on env's server, with its own
// app registration whose redirect URI is /app/auth/callback.
type prefixed struct {
	e     *env
	mw    *middleware.Middleware
	posts atomic.Int32
}

// pages are the prefixed app's handlers, registered by each router shape:
// /inbox a page without Require (its script fetches /api/calendar), /mail
// (Mail.Read), /api/calendar (Calendars.Read, for scripts), POST /compose
// (Mail.Send) and the home page.
type pages struct {
	auth, inbox, mail, calendar, compose, home http.Handler
}

// newPrefixed mounts the app under /app/ with mount (one router shape).
func newPrefixed(t *testing.T, mount func(pages) http.Handler, mutate func(*middleware.Config)) *prefixed {
	t.Helper()
	e := newEnv(t)
	reg := e.idp.AddApp(entratest.App{DisplayName: "Mounted", HomeTenantID: e.tenant.ID, MultiTenant: true,
		Secrets: []string{testSecret}, RedirectURIs: []string{e.srv.URL + "/app/auth/callback"}})
	cfg := e.cfg
	cfg.ClientID, cfg.RedirectURL = reg.ClientID, e.srv.URL+"/app/auth/callback"
	if mutate != nil {
		mutate(&cfg)
	}
	a := &prefixed{e: e, mw: e.newMiddleware(t, cfg)}
	e.setHandler(mount(a.pages()))
	return a
}

func (a *prefixed) pages() pages {
	show := func(w http.ResponseWriter, r *http.Request) {
		acct, _ := middleware.AccountFromContext(r.Context())
		fmt.Fprintf(w, "page %s query=%s user=%s", r.URL.Path, r.URL.RawQuery, acct.Username)
	}
	return pages{
		auth:     a.mw.AuthHandler(),
		inbox:    http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "inbox page") }),
		mail:     a.mw.Require("Mail.Read")(http.HandlerFunc(show)),
		calendar: a.mw.Require("Calendars.Read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"events":[]}`) })),
		compose: a.mw.Require("Mail.Send")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := a.posts.Add(1)
			fmt.Fprintf(w, "sent #%d subject=%q query=%s", n, r.FormValue("subject"), r.URL.RawQuery)
		})),
		home: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "home") }),
	}
}

// The three router shapes.

func mountStripPrefix(p pages) http.Handler {
	outer := http.NewServeMux()
	outer.Handle("/app/", http.StripPrefix("/app", atRoot(p)))
	return outer
}

// atRoot is the app's routes without the prefix.
func atRoot(p pages) http.Handler {
	inner := http.NewServeMux()
	inner.Handle("/auth/", p.auth)
	inner.Handle("GET /inbox", p.inbox)
	inner.Handle("GET /mail", p.mail)
	inner.Handle("GET /api/calendar", p.calendar)
	inner.Handle("POST /compose", p.compose)
	inner.Handle("GET /{$}", p.home)
	return inner
}

func mountChi(p pages) http.Handler {
	sub := chi.NewRouter()
	sub.Handle("/auth/*", p.auth)
	sub.Method(http.MethodGet, "/inbox", p.inbox)
	sub.Method(http.MethodGet, "/mail", p.mail)
	sub.Method(http.MethodGet, "/api/calendar", p.calendar)
	sub.Method(http.MethodPost, "/compose", p.compose)
	sub.Method(http.MethodGet, "/", p.home)
	r := chi.NewRouter()
	r.Mount("/app", sub)
	return r
}

func mountGorilla(p pages) http.Handler {
	r := mux.NewRouter()
	sub := r.PathPrefix("/app").Subrouter()
	sub.PathPrefix("/auth/").Handler(p.auth)
	sub.Handle("/inbox", p.inbox).Methods(http.MethodGet)
	sub.Handle("/mail", p.mail).Methods(http.MethodGet)
	sub.Handle("/api/calendar", p.calendar).Methods(http.MethodGet)
	sub.Handle("/compose", p.compose).Methods(http.MethodPost)
	sub.Handle("/", p.home).Methods(http.MethodGet)
	return r
}

var routerShapes = []struct {
	name  string
	mount func(pages) http.Handler
}{
	{"ServeMux+StripPrefix", mountStripPrefix},
	{"chi Mount", mountChi},
	{"gorilla subrouter", mountGorilla},
}

// TestMountedUnderPrefix walks a user through an app mounted under /app/ with
// each router shape: sign-in and consent with a query, a form post kept
// across consent, a script's 401 that brings the user back to the page,
// sign-out; every URL of the app the browser sees keeps the prefix.
func TestMountedUnderPrefix(t *testing.T) {
	for _, shape := range routerShapes {
		t.Run(shape.name, func(t *testing.T) {
			newPrefixed(t, shape.mount, nil).walk(t)
		})
	}
}

// walk takes a user through the app: sign-in and consent with a query, a
// form post kept across consent, a script's 401 that brings the user back
// to the page, sign-out; every URL of the app the browser sees keeps /app/.
func (a *prefixed) walk(t *testing.T) {
	t.Helper()
	e := a.e
	b := e.idp.NewBrowser(e.srv.Certificate())
	b.User = e.user.UPN

	p := a.get(t, b, "/app/mail?folder=inbox&n=1")
	if p.URL.RequestURI() != "/app/mail?folder=inbox&n=1" || !strings.Contains(p.Body, "user="+e.user.UPN) ||
		len(steps(p, "signin")) != 1 || len(steps(p, "consent")) != 1 {
		t.Fatalf("sign-in and consent: %s %q%s", p.URL, p.Body, trail(p))
	}
	a.sessionCookieUnderPrefix(t, b)

	p = a.post(t, b, "/app/compose?draft=7", url.Values{"subject": {"numbers"}})
	if p.URL.Path != "/app/compose" || p.Body != `sent #1 subject="numbers" query=draft=7` || len(steps(p, "consent")) != 1 {
		t.Fatalf("POST resume: %s %q%s", p.URL, p.Body, trail(p))
	}

	a.get(t, b, "/app/inbox")
	p = a.scriptToPage(t, b, "/app/api/calendar", nil)
	if p.URL.Path != "/app/inbox" || p.Body != "inbox page" {
		t.Fatalf("after the script's sign-in the user is at %s %q, not the page%s", p.URL, p.Body, trail(p))
	}

	p = a.post(t, b, "/app/auth/signout", nil)
	if p.URL.String() != e.srv.URL+"/app/" || p.Body != "home" {
		t.Fatalf("sign-out ends at %s %q, want the app's home%s", p.URL, p.Body, trail(p))
	}
	if p := a.get(t, b, "/app/mail"); len(steps(p, "signin")) != 1 {
		t.Errorf("still signed in after sign-out%s", trail(p))
	}
}

// get loads path with b, checking that every app URL on the way keeps /app/.
func (a *prefixed) get(t *testing.T, b *entratest.Browser, path string) *entratest.Page {
	t.Helper()
	p, err := b.Get(a.e.srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v%s", path, err, trail(p))
	}
	a.keepsPrefix(t, p)
	return p
}

// post posts v to path from b's page, like get.
func (a *prefixed) post(t *testing.T, b *entratest.Browser, path string, v url.Values) *entratest.Page {
	t.Helper()
	p, err := b.PostForm(a.e.srv.URL+path, v)
	if err != nil {
		t.Fatalf("POST %s: %v%s", path, err, trail(p))
	}
	a.keepsPrefix(t, p)
	return p
}

// keepsPrefix fails when a step of p on the app's origin left /app/.
func (a *prefixed) keepsPrefix(t *testing.T, p *entratest.Page) {
	t.Helper()
	for _, s := range p.Trail {
		if strings.HasPrefix(s.URL, a.e.srv.URL) && !strings.HasPrefix(s.URL, a.e.srv.URL+"/app/") {
			t.Errorf("the browser left the prefix: %s%s", s.URL, trail(p))
		}
	}
}

// scriptToPage fetches api from b's page as a script does, checks the 401
// and its signin_url, and opens that URL as the script's page would.
func (a *prefixed) scriptToPage(t *testing.T, b *entratest.Browser, api string, h http.Header) *entratest.Page {
	t.Helper()
	page := b.URL().RequestURI()
	r, err := b.Fetch(a.e.srv.URL+api, h)
	if err != nil || r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("fetch %s: %v %d %s", api, err, r.StatusCode, r.Body)
	}
	var body struct {
		SignInURL string `json:"signin_url"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatalf("401 body: %v %s", err, r.Body)
	}
	u, err := url.Parse(body.SignInURL)
	if err != nil || u.Path != "/app/auth/signin" || u.Query().Get("redirect") != page {
		t.Fatalf("signin_url %q: want /app/auth/signin returning to %s", body.SignInURL, page)
	}
	return a.get(t, b, body.SignInURL)
}

// sessionCookieUnderPrefix checks that the session cookie is scoped to /app/.
func (a *prefixed) sessionCookieUnderPrefix(t *testing.T, b *entratest.Browser) {
	t.Helper()
	has := func(path string) bool {
		u, _ := url.Parse(a.e.srv.URL + path)
		for _, c := range b.Client.Jar.Cookies(u) {
			if c.Name == middleware.DefaultSessionName {
				return true
			}
		}
		return false
	}
	if !has("/app/mail") || has("/elsewhere") {
		t.Errorf("session cookie sent to /app/mail: %v, to /elsewhere: %v; want only under /app/", has("/app/mail"), has("/elsewhere"))
	}
}

// TestMountedPagesLinkUnderPrefix: the built-in pages of a mounted app link
// home to the prefix, and sign-in without a redirect returns there.
func TestMountedPagesLinkUnderPrefix(t *testing.T) {
	a := newPrefixed(t, mountStripPrefix, nil)
	b := a.e.idp.NewBrowser(a.e.srv.Certificate())
	b.User = a.e.user.UPN
	p := a.get(t, b, "/app/auth/nowhere")
	if p.StatusCode != http.StatusNotFound || !strings.Contains(p.Body, `id="home-link" href="/app/"`) {
		t.Errorf("not-found page: %d %s", p.StatusCode, p.Body)
	}
	p = a.get(t, b, "/app/auth/signin")
	if p.URL.String() != a.e.srv.URL+"/app/" || p.Body != "home" {
		t.Errorf("sign-in without redirect ends at %s%s", p.URL, trail(p))
	}
}

// TestBasePathBehindStrippingProxy: a proxy that strips /app/ before the app
// leaves no trace of it (neither r.URL nor r.RequestURI holds it, and the
// app's routes are at the root); Config.BasePath puts it back in every URL:
// sign-in with consent, a form kept across consent, a script's way back,
// sign-out.
func TestBasePathBehindStrippingProxy(t *testing.T) {
	a := newPrefixed(t, func(p pages) http.Handler {
		app := atRoot(p)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rest, ok := strings.CutPrefix(r.URL.Path, "/app/")
			if !ok {
				http.NotFound(w, r) // the proxy forwards only /app/
				return
			}
			r2 := r.Clone(r.Context()) // what the app behind the proxy sees
			r2.URL.Path, r2.URL.RawPath = "/"+rest, ""
			r2.RequestURI = strings.TrimPrefix(r.RequestURI, "/app")
			app.ServeHTTP(w, r2)
		})
	}, func(c *middleware.Config) { c.BasePath = "/app/" })
	a.walk(t)
}

func TestBasePathValidation(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		redirect, base string
		ok             bool
	}{
		{"/auth/callback", "", true},
		{"/app/auth/callback", "/app/", true},
		{"/app/auth/callback", "/app", false},
		{"/app/auth/callback", "app/", false},
		{"/auth/callback", "/app/", false},
		{"/app/auth/callback", "//evil/", false},
	} {
		cfg := e.cfg
		cfg.RedirectURL, cfg.BasePath = e.srv.URL+tc.redirect, tc.base
		if _, err := middleware.New(cfg); (err == nil) != tc.ok {
			t.Errorf("RedirectURL %s, BasePath %q: err %v, want ok=%v", tc.redirect, tc.base, err, tc.ok)
		}
	}
}
