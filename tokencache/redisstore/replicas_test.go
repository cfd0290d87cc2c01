package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/redis/go-redis/v9"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
	"github.com/consentry/consentry/tokencache/redisstore"
	"github.com/consentry/consentry/tokencache/redisstore/redistest"
)

// What every replica of the app shares: session keys, the token cache's
// encryption key, the client secret and the Redis deployment.
var (
	sessionKeys = [][]byte{[]byte("0123456789abcdef0123456789abcdef")}
	cacheKey    = []byte("fedcba9876543210fedcba9876543210")
)

const appSecret = "replicas-test-secret"

// routes are the app's protected pages and the scope each needs.
var routes = map[string]string{"/profile": "User.Read", "/mail": "Mail.Read"}

// app is an entratest emulator and two replicas of a web app: two
// middleware.Middleware instances behind their own TLS servers, sharing
// session keys and a token cache on one Redis deployment, each through its
// own Redis client. Sign-ins started on either replica come back to the
// callback of replica 0, as behind a load balancer.
type app struct {
	idp      *entratest.Server
	tenant   entratest.Tenant
	replicas [2]*httptest.Server
	prefix   string // of every key the replicas write
	opts     []redisstore.Option
	conns    http.RoundTripper // shared by the users' browsers, each with its own cookies
}

// newApp starts the emulator and the replicas, replica i on clients[i],
// with stores made with opts. A positive tokenLifetime sets the lifetime of
// the access tokens the emulator issues.
func newApp(t *testing.T, clients [2]redis.UniversalClient, tokenLifetime time.Duration, opts ...redisstore.Option) *app {
	t.Helper()
	a := &app{idp: entratest.NewServer(), prefix: "replicas:" + rand.Text() + ":"}
	a.opts = append([]redisstore.Option{redisstore.WithPrefix(a.prefix)}, opts...)
	t.Cleanup(a.idp.Close)
	if tokenLifetime > 0 {
		a.idp.SetTokenLifetime(tokenLifetime)
	}
	a.tenant = a.idp.AddTenant(entratest.Tenant{Domain: "replicas.example", DisplayName: "Replicas"})
	var handlers [2]handlerSlot
	for i := range a.replicas {
		a.replicas[i] = httptest.NewUnstartedServer(&handlers[i])
		a.replicas[i].Config.ErrorLog = log.New(io.Discard, "", 0)
		a.replicas[i].StartTLS()
		t.Cleanup(a.replicas[i].Close)
	}
	reg := a.idp.AddApp(entratest.App{DisplayName: "Replicas", HomeTenantID: a.tenant.ID, Secrets: []string{appSecret},
		RedirectURIs: []string{a.replicas[0].URL + "/auth/callback"}})
	for i := range a.replicas {
		handlers[i].h.Store(pages(a.middleware(t, reg, redisstore.New(clients[i], a.opts...))))
	}
	return a
}

// middleware returns one replica's Middleware over store.
func (a *app) middleware(t *testing.T, reg entratest.App, store *redisstore.Store) *middleware.Middleware {
	t.Helper()
	c, err := tokencache.New(store, tokencache.WithKey("k1", cacheKey))
	if err != nil {
		t.Fatal(err)
	}
	cred, err := confidential.NewCredFromSecret(appSecret)
	if err != nil {
		t.Fatal(err)
	}
	mw, err := middleware.New(middleware.Config{
		Authority: a.idp.Authority(a.tenant.ID), ClientID: reg.ClientID, Credential: cred,
		RedirectURL: a.replicas[0].URL + "/auth/callback", SessionKeys: sessionKeys,
		Cache: c, FlowStore: store, HTTPClient: a.idp.Client(), DisableInstanceDiscovery: true,
		Logger: slog.New(slog.DiscardHandler), TokenConcurrency: 16,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mw.Close() })
	return mw
}

// handlerSlot is an http.Handler set once the server's URL is known.
type handlerSlot struct{ h atomic.Pointer[http.Handler] }

func (s *handlerSlot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

// pages is the app: AuthHandler and the protected routes, each answering
// "page <path>" when the middleware gave it a token.
func pages(mw *middleware.Middleware) *http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/auth/", mw.AuthHandler())
	for path, scope := range routes {
		mux.Handle("GET "+path, mw.Require(scope)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tok, ok := middleware.TokenFromContext(r.Context()); !ok || tok.AccessToken == "" {
				http.Error(w, "no token", http.StatusInternalServerError)
				return
			}
			fmt.Fprintf(w, "page %s", path)
		})))
	}
	var h http.Handler = mux
	return &h
}

// user is a person of the app's tenant with their own browser.
type user struct {
	entratest.User
	b *entratest.Browser
}

func (a *app) addUser(i int) *user {
	u := a.idp.AddUser(entratest.User{TenantID: a.tenant.ID, UPN: fmt.Sprintf("u%03d@replicas.example", i)})
	b := a.idp.NewBrowser(a.replicas[0].Certificate(), a.replicas[1].Certificate())
	b.User, b.Consent = u.UPN, entratest.Accept
	if a.conns == nil { // one pool of TLS connections for every user: handshakes are not what is tested
		tr := b.Client.Transport.(*http.Transport)
		tr.MaxIdleConnsPerHost = 64
		a.conns = tr
	}
	b.Client.Transport = a.conns
	return &user{User: u, b: b}
}

// consent loads path on replica i through sign-in and consent, and reports
// whether it ended on the page.
func (a *app) consent(u *user, i int, path string) error {
	p, err := u.b.Get(a.replicas[i].URL + path)
	if err != nil {
		return err
	}
	if p.StatusCode != http.StatusOK || p.Body != "page "+path {
		return fmt.Errorf("%s: %d %q", path, p.StatusCode, p.Body)
	}
	return nil
}

// Outcomes of one page load of a route the user has consented to.
const (
	served          = "200"
	unavailable     = "503"
	consentRedirect = "redirect to sign-in or consent"
)

// load loads path on replica i without following redirects and names the
// outcome: served, unavailable, consentRedirect or another status.
func (a *app) load(u *user, i int, path string) string {
	resp, err := u.b.Client.Get(a.replicas[i].URL + path)
	if err != nil {
		return "transport error: " + err.Error()
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c == http.StatusOK && string(body) == "page "+path:
		return served
	case c == http.StatusServiceUnavailable:
		return unavailable
	case c >= 300 && c < 400 || c == http.StatusUnauthorized:
		return consentRedirect
	default:
		return fmt.Sprintf("status %d", c)
	}
}

// refreshTokens returns how many refresh tokens the shared cache holds for u,
// read through a new Cache and Store on rdb, as a new replica would.
func (a *app) refreshTokens(t *testing.T, rdb redis.UniversalClient, u *user) int {
	t.Helper()
	c, err := tokencache.New(redisstore.New(rdb, a.opts...), tokencache.WithKey("k1", cacheKey))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ RefreshToken map[string]json.RawMessage }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// MSAL's partition of a user is their home account id: oid.tid.
	if err := c.Replace(ctx, jsonOf{&doc}, cache.ReplaceHints{PartitionKey: u.ObjectID + "." + u.TenantID}); err != nil {
		t.Fatalf("reading %s's partition: %v", u.UPN, err)
	}
	return len(doc.RefreshToken)
}

// jsonOf is a cache.Unmarshaler decoding MSAL's cache JSON into v.
type jsonOf struct{ v any }

func (j jsonOf) Unmarshal(b []byte) error { return json.Unmarshal(b, j.v) }

// clientsOf returns two clients of the same deployment, one per replica.
func clientsOf[C redis.UniversalClient](newClient func(testing.TB) C, t *testing.T) [2]redis.UniversalClient {
	return [2]redis.UniversalClient{newClient(t), newClient(t)}
}

// TestConsentAcrossReplicas: a user consents through replica A; replica B,
// which never saw the user, serves the page with the token from the shared
// cache, without asking Entra; then the user consents to a second scope
// through B and A serves it. Over a Redis Cluster and a Sentinel setup.
func TestConsentAcrossReplicas(t *testing.T) {
	deployments := map[string]func(t *testing.T) [2]redis.UniversalClient{
		"cluster":  func(t *testing.T) [2]redis.UniversalClient { return clientsOf(redistest.StartCluster(t).Client, t) },
		"sentinel": func(t *testing.T) [2]redis.UniversalClient { return clientsOf(redistest.StartSentinel(t).Client, t) },
	}
	for name, start := range deployments {
		t.Run(name, func(t *testing.T) {
			clients := start(t)
			a := newApp(t, clients, 0, redisstore.WithWait(1, healthyWait))
			u := a.addUser(0)
			steps := []struct {
				consentOn, servedBy int
				path                string
			}{{0, 1, "/profile"}, {1, 0, "/mail"}}
			for _, s := range steps {
				if err := a.consent(u, s.consentOn, s.path); err != nil {
					t.Fatalf("consent on replica %d: %v", s.consentOn, err)
				}
				tokens := a.idp.Count(entratest.EndpointToken)
				if got := a.load(u, s.servedBy, s.path); got != served {
					t.Fatalf("%s on replica %d after consenting on replica %d: %s; want %s", s.path, s.servedBy, s.consentOn, got, served)
				}
				if n := a.idp.Count(entratest.EndpointToken) - tokens; n != 0 {
					t.Errorf("replica %d made %d token requests; want the token from the shared cache", s.servedBy, n)
				}
			}
			if n := a.refreshTokens(t, clients[0], u); n != 1 {
				t.Errorf("shared cache holds %d refresh tokens for the user; want 1", n)
			}
		})
	}
}
