package middleware_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
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
	e.app = e.idp.AddApp(entratest.App{DisplayName: "Consentry Test", HomeTenantID: e.tenant.ID, MultiTenant: true,
		Secrets: []string{testSecret}, RedirectURIs: []string{e.srv.URL + "/auth/callback"}})
	e.cfg = e.config(t, nil)
	e.mw = e.newMiddleware(t, e.cfg)
	e.setHandler(e.routes(e.mw))
	return e
}

func (e *env) addUser(name string) entratest.User {
	return e.idp.AddUser(entratest.User{TenantID: e.tenant.ID, UPN: name + "@contoso.example", DisplayName: name})
}

func (e *env) addAdmin(name string) entratest.User {
	return e.idp.AddUser(entratest.User{TenantID: e.tenant.ID, UPN: name + "@contoso.example", DisplayName: name, Admin: true})
}

// isAdmin answers Config.IsAdmin from the emulator's directory (the emulator
// sends no wids claim).
func (e *env) isAdmin(upn string) bool {
	for _, t := range e.idp.Tenants() {
		for _, u := range e.idp.Users(t.ID) {
			if strings.EqualFold(u.UPN, upn) {
				return u.Admin
			}
		}
	}
	return false
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
	middleware.LiftDeadlines(mw) // tests of timeouts set their own (SetRetry)
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

// serveApp builds a middleware from e.cfg changed by mutate and serves env's
// routes plus /directory (RequireAdmin User.Read.All), /me (Graph through
// mw.Client, claims challenges through mw.Challenge) and POST /compose.
func (e *env) serveApp(t *testing.T, mutate func(*middleware.Config)) *testApp {
	t.Helper()
	cfg := e.cfg
	cfg.IsAdmin = func(_ *http.Request, a middleware.Account) bool { return e.isAdmin(a.Username) }
	if mutate != nil {
		mutate(&cfg)
	}
	a := &testApp{mw: e.newMiddleware(t, cfg), api: e.idp.GraphURL() + "/me"}
	mux := http.NewServeMux()
	mux.Handle("/", e.routes(a.mw))
	mux.Handle("GET /directory", a.mw.RequireAdmin("User.Read.All")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acct, _ := middleware.AccountFromContext(r.Context())
		fmt.Fprintf(w, "directory for %s", acct.Username)
	})))
	mux.Handle("GET /me", a.mw.Require("User.Read")(http.HandlerFunc(a.me)))
	mux.Handle("POST /compose", a.mw.Require("Mail.Send")(http.HandlerFunc(a.compose)))
	e.setHandler(mux)
	return a
}

// testApp is env's routes plus an admin route, a Graph call and a form post.
type testApp struct {
	mw    *middleware.Middleware
	posts atomic.Int32 // runs of the POST /compose handler
	// api is what GET /me calls with mw.Client; default the emulator's Graph /me.
	api string
}

func (a *testApp) me(w http.ResponseWriter, r *http.Request) {
	resp, err := a.mw.Client(r).Get(a.api)
	if err != nil {
		if a.mw.Challenge(w, r, err) {
			return
		}
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Fprintf(w, "graph %d %s", resp.StatusCode, body)
}

func (a *testApp) compose(w http.ResponseWriter, r *http.Request) {
	n := a.posts.Add(1)
	fmt.Fprintf(w, "sent #%d method=%s subject=%q to=%q query=%s", n, r.Method, r.FormValue("subject"), r.FormValue("to"), r.URL.RawQuery)
}

func (e *env) browser(u entratest.User, c entratest.ConsentAction) *entratest.Browser {
	b := e.idp.NewBrowser(e.srv.Certificate())
	b.User, b.Consent = u.UPN, c
	b.NoScript = true // tests look at the resume page before posting it
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

// counts returns how often each endpoint was called.
func (e *env) counts(eps ...entratest.Endpoint) []int {
	out := make([]int, len(eps))
	for i, ep := range eps {
		out[i] = e.idp.Count(ep)
	}
	return out
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

// open loads an absolute URL with b and fails the test on a browser error.
func open(t *testing.T, b *entratest.Browser, u string) *entratest.Page {
	t.Helper()
	p, err := b.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v%s", u, err, trail(p))
	}
	return p
}

var (
	adminLinkRE = regexp.MustCompile(`id="admin-link" href="([^"]+)"`)
	actionRE    = regexp.MustCompile(`<form id="consentry-resume" method="post" action="([^"]+)"`)
)

// adminLink returns the administrator link of an app error page.
func adminLink(t *testing.T, p *entratest.Page) string {
	t.Helper()
	m := adminLinkRE.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no admin link on the page: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	return html.UnescapeString(m[1])
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

// noRedirects is the app's TLS client, not following redirects.
func (e *env) noRedirects() *http.Client {
	cli := e.srv.Client()
	cli.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return cli
}

// noRedirects is a client of the app that trusts its certificate and does not
// follow redirects.
func noRedirects(e *env) *http.Client {
	c := *e.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func validConfig(t *testing.T) middleware.Config {
	t.Helper()
	cred, err := confidential.NewCredFromSecret("secret")
	if err != nil {
		t.Fatal(err)
	}
	return middleware.Config{
		Authority: "https://login.microsoftonline.com/organizations", ClientID: "11111111-2222-3333-4444-555555555555",
		Credential: cred, RedirectURL: "https://app.example/auth/callback", SessionKeys: sessionKeys,
		Logger: slog.New(slog.DiscardHandler),
	}
}

// authorizeScopes returns the scope parameter of the authorize requests in p's trail.
func authorizeScopes(t *testing.T, p *entratest.Page) [][]string {
	t.Helper()
	var out [][]string
	for _, s := range p.Trail {
		u, err := url.Parse(s.URL)
		if err != nil || !strings.HasSuffix(u.Path, "/oauth2/v2.0/authorize") || u.Query().Get("scope") == "" {
			continue
		}
		out = append(out, strings.Fields(u.Query().Get("scope")))
	}
	return out
}

// headerTransport sets headers on the browser's POSTs to the app, except
// the resume page's re-post: a form another site (or a script) sends.
type headerTransport struct {
	base   http.RoundTripper
	header http.Header
}

func (t *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && !strings.Contains(r.URL.RawQuery, "consentry_resume") {
		r = r.Clone(r.Context())
		for _, k := range []string{"Origin", "Referer", "Sec-Fetch-Site"} {
			r.Header.Del(k) // only the test's headers say where the form comes from
		}
		for k, v := range t.header {
			r.Header[k] = v
		}
	}
	return t.base.RoundTrip(r)
}

// sessionCookie returns b's app session cookie.
func (e *env) sessionCookie(t *testing.T, b *entratest.Browser) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(e.srv.URL)
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == sessionCookieName || c.Name == middleware.DefaultSessionName { // default store; server-side store
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// dropSession forgets b's app cookie, as a browser does not send a SameSite=Lax
// cookie with another site's form post.
func (e *env) dropSession(b *entratest.Browser) {
	u, _ := url.Parse(e.srv.URL)
	b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookieName, Value: "", MaxAge: -1, Path: "/"}})
}

// dropSessionCookie removes b's app session cookie, as if b's next request
// left before the answer to the previous one arrived.
func (e *env) dropSessionCookie(b *entratest.Browser) {
	u, _ := url.Parse(e.srv.URL)
	b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookieName, Value: "", Path: "/", MaxAge: -1}})
}

// refreshingUser serves the app with Config.HTTPClient going through rt and
// 4-minute tokens (within RefreshMargin: every request refreshes), and
// returns the browser of a user signed in through it.
func (e *env) refreshingUser(t *testing.T, rt http.RoundTripper) *entratest.Browser {
	t.Helper()
	e.idp.SetTokenLifetime(4 * time.Minute)
	e.cfg.HTTPClient = &http.Client{Transport: rt}
	e.serveApp(t, nil)
	b := e.browser(e.user, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	return b
}

// serveWhoami serves env's routes plus GET /whoami (Require User.Read),
// which writes show of the request's account.
func (e *env) serveWhoami(show func(middleware.Account) string) {
	mux := http.NewServeMux()
	mux.Handle("/", e.routes(e.mw))
	mux.Handle("GET /whoami", e.mw.Require("User.Read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acct, _ := middleware.AccountFromContext(r.Context())
		fmt.Fprint(w, show(acct))
	})))
	e.setHandler(mux)
}

// scriptGet requests path as a script (Accept: application/json) in b's
// session and returns the status, the signin_url of a 401 answer and the body.
func (e *env) scriptGet(t *testing.T, b *entratest.Browser, path string) (status int, signInURL, body string) {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		SignInURL string `json:"signin_url"`
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &v)
	return resp.StatusCode, v.SignInURL, string(raw)
}

// failingEntra makes the token endpoint answer status to the next fail
// requests, each after latency, and has the middleware record its backoff
// waits instead of sleeping. Attempts time out only when latency is set: with
// none, the harness's timeout stays off so no attempt times out on a loaded
// machine.
func (e *env) failingEntra(fail, status int, latency time.Duration) *sleeps {
	s := new(sleeps)
	timeout := time.Duration(0)
	if latency > 0 {
		timeout = 200 * time.Millisecond
	}
	middleware.SetRetry(e.mw, s.sleep, timeout)
	e.idp.FailTokenRequests(fail, status)
	e.idp.SetTokenLatency(latency)
	return s
}

// serveOver makes e.mw a middleware whose token cache, sealed with a test
// key, keeps its partitions in store, and serves e's routes with it.
func (e *env) serveOver(t testing.TB, store tokencache.Store) {
	t.Helper()
	cache, err := tokencache.New(store, tokencache.WithKey("k1", []byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	e.mw = e.newMiddleware(t, e.config(t, cache))
	e.setHandler(e.routes(e.mw))
}
