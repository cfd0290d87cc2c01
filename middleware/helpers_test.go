package middleware_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
)

const testSecret = "app-secret-value"

// clock is an injected clock tests move instead of sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer collects logs written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is the emulator with one tenant, an app registration and a TLS app
// server running the middleware in front of a few routes.
type env struct {
	idp    *entratest.Server
	tenant entratest.Tenant
	user   entratest.User
	app    entratest.App
	srv    *httptest.Server
	mw     *middleware.Middleware
	cfg    middleware.Config
	clock  *clock
	logs   *syncBuffer
	// before runs ahead of every app request (e.g. to move the clock).
	before  func(r *http.Request)
	handler http.Handler
	mu      sync.Mutex
}

// sessionCookieName is the default session cookie's name over https.
const sessionCookieName = "__Host-" + middleware.DefaultSessionName

var sessionKeys = [][]byte{[]byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")}

func newEnv(t testing.TB) *env { t.Helper(); return newEnvWith(t) }

// newEnvWith is newEnv with emulator options.
func newEnvWith(t testing.TB, opts ...entratest.Option) *env {
	t.Helper()
	e := &env{clock: &clock{t: time.Now()}, logs: &syncBuffer{}}
	e.idp = entratest.NewServer(opts...)
	t.Cleanup(e.idp.Close)
	e.handler = http.NotFoundHandler()
	e.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		h, before := e.handler, e.before
		e.mu.Unlock()
		if before != nil {
			before(r)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	e.tenant = e.idp.AddTenant(entratest.Tenant{Domain: "contoso.example", DisplayName: "Contoso"})
	e.user = e.addUser("adele")
	e.app = e.idp.AddApp(entratest.App{DisplayName: "Consentry Test", HomeTenantID: e.tenant.ID,
		Secrets: []string{testSecret}, RedirectURIs: []string{e.srv.URL + "/auth/callback"}})
	e.cfg = e.config(t, nil)
	e.mw = e.newMiddleware(t, e.cfg)
	e.setHandler(e.routes(e.mw))
	return e
}

func (e *env) addUser(name string) entratest.User {
	return e.idp.AddUser(entratest.User{TenantID: e.tenant.ID, UPN: name + "@contoso.example", DisplayName: name})
}

// config returns the app's Config; cache nil means a fresh in-memory cache.
func (e *env) config(t testing.TB, cache *tokencache.Cache) middleware.Config {
	t.Helper()
	cred, err := confidential.NewCredFromSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if cache == nil {
		if cache, err = tokencache.New(nil); err != nil {
			t.Fatal(err)
		}
	}
	return middleware.Config{
		Authority: e.idp.Authority("organizations"), ClientID: e.app.ClientID, Credential: cred,
		RedirectURL: e.srv.URL + "/auth/callback", SessionKeys: sessionKeys, Cache: cache,
		HTTPClient: e.idp.Client(), DisableInstanceDiscovery: true, Now: e.clock.Now,
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func (e *env) newMiddleware(t testing.TB, cfg middleware.Config) *middleware.Middleware {
	t.Helper()
	mw, err := middleware.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return mw
}

// routes is the test app: /profile needs User.Read, /mail Mail.Read,
// /api/mail Mail.Read for scripts, /calendar Calendars.Read.
func (e *env) routes(mw *middleware.Middleware) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/auth/", mw.AuthHandler())
	show := func(w http.ResponseWriter, r *http.Request) {
		tok, ok := middleware.TokenFromContext(r.Context())
		acct, _ := middleware.AccountFromContext(r.Context())
		fmt.Fprintf(w, "page %s query=%s user=%s token=%v scopes=%s", r.URL.Path, r.URL.RawQuery,
			acct.Username, ok && tok.AccessToken != "", strings.Join(tok.Scopes, ","))
	}
	mux.Handle("GET /profile", mw.Require("User.Read")(http.HandlerFunc(show)))
	mux.Handle("GET /mail", mw.Require("Mail.Read")(http.HandlerFunc(show)))
	mux.Handle("GET /api/mail", mw.Require("Mail.Read")(http.HandlerFunc(show)))
	mux.Handle("GET /calendar", mw.Require("Calendars.Read")(http.HandlerFunc(show)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "home") })
	return mux
}

func (e *env) browser(u entratest.User, c entratest.ConsentAction) *entratest.Browser {
	b := e.idp.NewBrowser(e.srv.Certificate())
	b.User, b.Consent = u.UPN, c
	b.Client.Transport = &originTransport{base: b.Client.Transport, origin: e.srv.URL}
	return b
}

// originTransport adds the Origin header a browser sends with a form post to
// the app from one of its own pages (the emulator's Browser sends none).
type originTransport struct {
	base   http.RoundTripper
	origin string
}

func (t *originTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.String(), t.origin+"/") && r.Header.Get("Origin") == "" {
		r = r.Clone(r.Context())
		r.Header.Set("Origin", t.origin)
	}
	return base.RoundTrip(r)
}

// get loads path with b and fails the test on a transport error.
func (e *env) get(t *testing.T, b *entratest.Browser, path string) *entratest.Page {
	t.Helper()
	p, err := b.Get(e.srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v (trail %s)", path, err, trail(p))
	}
	return p
}

// entraCalls counts requests to the emulator's identity endpoints.
func (e *env) entraCalls() int {
	n := 0
	for _, ep := range []entratest.Endpoint{entratest.EndpointAuthorize, entratest.EndpointToken,
		entratest.EndpointDiscovery, entratest.EndpointJWKS, entratest.EndpointSignIn,
		entratest.EndpointConsent, entratest.EndpointAdminConsent, entratest.EndpointLogout} {
		n += e.idp.Count(ep)
	}
	return n
}

func trail(p *entratest.Page) string {
	if p == nil {
		return "<nil>"
	}
	var b strings.Builder
	for _, s := range p.Trail {
		fmt.Fprintf(&b, "\n  %s %d %s %v %s", s.Kind, s.Status, s.URL, s.Scopes, s.Error)
	}
	return b.String()
}

// steps returns the trail steps of a kind.
func steps(p *entratest.Page, kind string) []entratest.Step {
	var out []entratest.Step
	for _, s := range p.Trail {
		if s.Kind == kind {
			out = append(out, s)
		}
	}
	return out
}

func (e *env) setHandler(h http.Handler) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.handler = h
}

func middlewareToken(r *http.Request) (string, bool) {
	tok, ok := middleware.TokenFromContext(r.Context())
	return tok.AccessToken, ok
}
