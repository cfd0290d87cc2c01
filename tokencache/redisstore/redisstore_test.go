package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
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
	"github.com/alicebob/miniredis/v2"
	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
	"github.com/consentry/consentry/tokencache/redisstore"
	"github.com/consentry/consentry/tokencache/redisstore/redistest"
	"github.com/consentry/consentry/tokencache/storetest"
	"github.com/redis/go-redis/v9"
)

// miniStore returns a Store on a fresh miniredis and the server.
func miniStore(t *testing.T) (*redisstore.Store, *miniredis.Miniredis) {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	return redisstore.New(rdb), mr
}

func TestConformanceMiniredis(t *testing.T) {
	servers := map[tokencache.Store]*miniredis.Miniredis{}
	storetest.Run(t, storetest.Config{
		New: func(t *testing.T) tokencache.Store {
			s, mr := miniStore(t)
			servers[s] = mr
			return s
		},
		Advance: func(t *testing.T, s tokencache.Store, d time.Duration) { servers[s].FastForward(d) },
	})
}

func TestConformanceRealRedis(t *testing.T) {
	storetest.Run(t, realRedis(redistest.NewClient(t)))
}

// realRedis is the conformance suite's configuration for stores on rdb
// (made with opts), each under its own prefix, their TTLs read with PTTL.
func realRedis(rdb redis.UniversalClient, opts ...redisstore.Option) storetest.Config {
	prefixes := map[tokencache.Store]string{}
	return storetest.Config{
		New: func(t *testing.T) tokencache.Store {
			prefix := redistest.Prefix(t, rdb)
			s := redisstore.New(rdb, append([]redisstore.Option{redisstore.WithPrefix(prefix)}, opts...)...)
			prefixes[s] = prefix
			return s
		},
		TTL: func(t *testing.T, s tokencache.Store, key string) time.Duration {
			d, err := rdb.PTTL(context.Background(), prefixes[s]+key).Result()
			switch {
			case err != nil:
				t.Fatalf("PTTL %q: %v", key, err)
			case d == -2:
				t.Fatalf("PTTL %q: no such key", key)
			case d == -1:
				return 0
			}
			return d
		},
	}
}

func TestRealRedisSetsTTL(t *testing.T) {
	rdb := redistest.NewClient(t)
	prefix := redistest.Prefix(t, rdb)
	s := redisstore.New(rdb, redisstore.WithPrefix(prefix))
	ctx := context.Background()
	tests := []struct {
		name string
		ttl  time.Duration
		want time.Duration // Redis PTTL: -1 no expiry
	}{
		{"no expiry", 0, -1},
		{"one hour", time.Hour, time.Hour},
		{"fraction of a millisecond rounds up", time.Hour + 10*time.Microsecond, time.Hour + time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Set(ctx, tt.name, []byte("v"), tt.ttl); err != nil {
				t.Fatal(err)
			}
			got, err := rdb.PTTL(ctx, prefix+tt.name).Result()
			if err != nil {
				t.Fatal(err)
			}
			if tt.want < 0 && got != -1 || tt.want > 0 && (got <= 0 || got > tt.want) {
				t.Fatalf("PTTL = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestPrefix(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	ctx := context.Background()
	a := redisstore.New(rdb, redisstore.WithPrefix("app-a:"))
	b := redisstore.New(rdb, redisstore.WithPrefix("app-b:"))
	if err := a.Set(ctx, "k", []byte("from a"), 0); err != nil {
		t.Fatal(err)
	}
	if _, found, err := b.Get(ctx, "k"); found || err != nil {
		t.Fatalf("other prefix sees the key: found=%v err=%v", found, err)
	}
	if got, _ := mr.Get("app-a:k"); got != "from a" {
		t.Fatalf("redis key app-a:k = %q; want %q", got, "from a")
	}
	d := redisstore.New(rdb)
	_ = d.Set(ctx, "k", []byte("default"), 0)
	if !mr.Exists(redisstore.DefaultPrefix + "k") {
		t.Fatalf("default prefix %q not used", redisstore.DefaultPrefix)
	}
}

// TestOutageAndRecovery stops Redis mid-run: calls fail with ErrUnavailable
// (not "not found"), then succeed again once Redis is back on the same
// address, with the same client.
func TestOutageAndRecovery(t *testing.T) {
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		t.Fatal(err)
	}
	addr := mr.Addr()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	s := redisstore.New(rdb)
	ctx := context.Background()
	if err := s.Set(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	mr.Close()
	checkUnavailable(t, s)
	if err := mr.StartAddr(addr); err != nil { // miniredis keeps its data across Close/StartAddr
		t.Fatal(err)
	}
	defer mr.Close()
	if got, found, err := s.Get(ctx, "k"); err != nil || !found || string(got) != "v" {
		t.Fatalf("after restart Get = %q, %v, %v; want \"v\", true, nil", got, found, err)
	}
}

func checkUnavailable(t *testing.T, s *redisstore.Store) {
	t.Helper()
	ctx := context.Background()
	ops := map[string]func() error{
		"Get":            func() error { _, _, err := s.Get(ctx, "k"); return err },
		"Set":            func() error { return s.Set(ctx, "k", []byte("v"), 0) },
		"Delete":         func() error { return s.Delete(ctx, "k") },
		"CompareAndSwap": func() error { _, err := s.CompareAndSwap(ctx, "k", nil, []byte("v"), 0); return err },
	}
	for name, op := range ops {
		t.Run(name+"Unavailable", func(t *testing.T) {
			err := op()
			if !errors.Is(err, redisstore.ErrUnavailable) || !errors.Is(err, tokencache.ErrUnavailable) {
				t.Fatalf("%s while Redis is down: %v; want an error wrapping ErrUnavailable", name, err)
			}
		})
	}
}

func TestRedisErrorIsNotUnavailable(t *testing.T) {
	s, mr := miniStore(t)
	mr.HSet(redisstore.DefaultPrefix+"hash", "f", "v") // wrong type for GET
	_, _, err := s.Get(context.Background(), "hash")
	var rerr redis.Error
	if err == nil || errors.Is(err, redisstore.ErrUnavailable) || !errors.As(err, &rerr) {
		t.Fatalf("Get of a hash: %v; want a redis.Error not wrapping ErrUnavailable", err)
	}
}

// healthyWait is the WithWait timeout of tests whose replicas stay up, some of
// whose writes have no deadline and so are tried once: long, because WAIT
// returns as soon as a replica acknowledges and a loaded machine can take
// far longer than a production one to do that.
const healthyWait = 10 * time.Second

// TestConformanceCluster runs the suite on a Redis Cluster, through a
// cluster client, with and without WithWait.
func TestConformanceCluster(t *testing.T) {
	c := redistest.StartCluster(t)
	t.Run("Plain", func(t *testing.T) { storetest.Run(t, realRedis(c.Client(t))) })
	t.Run("WithWait", func(t *testing.T) { storetest.Run(t, realRedis(c.Client(t), redisstore.WithWait(1, healthyWait))) })
}

// TestConformanceSentinel runs the suite on a Sentinel-managed primary,
// through a failover client, with and without WithWait.
func TestConformanceSentinel(t *testing.T) {
	s := redistest.StartSentinel(t)
	t.Run("Plain", func(t *testing.T) { storetest.Run(t, realRedis(s.Client(t))) })
	t.Run("WithWait", func(t *testing.T) { storetest.Run(t, realRedis(s.Client(t), redisstore.WithWait(1, healthyWait))) })
}

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
