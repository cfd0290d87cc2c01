//go:build load

package loadtest_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/redis/go-redis/v9"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
	"github.com/consentry/consentry/tokencache/redisstore"
)

// The scenario. Everything is bounded: the run by duration, each user's
// requests by maxOpsPerUser, each request by the browser's 30 s timeout.
const (
	users         = 500
	duration      = 30 * time.Second
	outageAt      = 10 * time.Second // Redis is stopped then
	outageFor     = 3 * time.Second  // and started again this much later
	settle        = 5 * time.Second  // after the restart, 503s must be over
	maxOpsPerUser = 20_000
	// rampUp spreads the users' first page loads (user i starts at i*rampUp/users).
	rampUp = 5 * time.Second
	// thinkMax bounds a user's pause between two page loads (uniform 0..thinkMax).
	thinkMax = time.Second
	// tokenLifetime puts access tokens into MSAL's and the middleware's 5-minute
	// refresh window 10 s after they are issued, so refreshes (through Redis)
	// go on during the whole run, the outage included.
	tokenLifetime = 5*time.Minute + 10*time.Second
	secret        = "load-test-secret"
)

var sessionKeys = [][]byte{[]byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")}

// routes are the protected pages, each needing its own scope.
var routes = map[string]string{"/profile": "User.Read", "/mail": "Mail.Read", "/calendar": "Calendars.Read"}

// system is the emulator and the two replicas.
type system struct {
	idp      *entratest.Server
	tenant   entratest.Tenant
	app      entratest.App
	replicas [2]*httptest.Server
	mws      [2]*middleware.Middleware
	errs     serverErrors // what the replicas' ErrorHandler saw
}

func newSystem(t *testing.T, redisURL string) *system {
	t.Helper()
	s := &system{idp: entratest.NewServer()}
	t.Cleanup(s.idp.Close)
	s.idp.SetTokenLifetime(tokenLifetime)
	s.tenant = s.idp.AddTenant(entratest.Tenant{Domain: "load.example", DisplayName: "Load"})
	handlers := [2]*switchHandler{{}, {}}
	for i := range s.replicas {
		s.replicas[i] = httptest.NewUnstartedServer(handlers[i])
		s.replicas[i].Config.ErrorLog = log.New(io.Discard, "", 0)
		s.replicas[i].StartTLS()
		t.Cleanup(s.replicas[i].Close)
	}
	s.app = s.idp.AddApp(entratest.App{DisplayName: "Load", HomeTenantID: s.tenant.ID, MultiTenant: true, Secrets: []string{secret},
		RedirectURIs: []string{s.replicas[0].URL + "/auth/callback"}})
	prefix := "loadtest:" + rand.Text() + ":"
	for i := range s.mws {
		// One redirect URI for both, as behind a load balancer: flows started on
		// replica 1 finish on replica 0.
		s.mws[i] = s.newReplica(t, redisURL, prefix, s.replicas[0].URL+"/auth/callback")
		handlers[i].set(routesOf(s.mws[i]))
	}
	return s
}

// newReplica builds one replica's middleware over its own Redis client.
func (s *system) newReplica(t *testing.T, redisURL, prefix, redirect string) *middleware.Middleware {
	t.Helper()
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	opt.PoolSize = 128 // go-redis defaults to 10 per CPU: too few for 500 users on 2 CPUs
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	cache, err := tokencache.New(redisstore.New(rdb, redisstore.WithPrefix(prefix)),
		tokencache.WithKey("k1", []byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	cred, err := confidential.NewCredFromSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	mw, err := middleware.New(middleware.Config{
		Authority: s.idp.Authority("organizations"), ClientID: s.app.ClientID, Credential: cred,
		RedirectURL: redirect, SessionKeys: sessionKeys, Cache: cache, HTTPClient: s.idp.Client(),
		DisableInstanceDiscovery: true, Logger: slog.New(slog.DiscardHandler), TokenConcurrency: 16,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, status int, err error) {
			s.errs.add(status, err)
			middleware.DefaultErrorHandler(w, r, status, err)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mw.Close() })
	return mw
}

// routesOf is the app: AuthHandler and the protected routes.
func routesOf(mw *middleware.Middleware) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/auth/", mw.AuthHandler())
	for path, scope := range routes {
		mux.Handle("GET "+path, mw.Require(scope)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, ok := middleware.TokenFromContext(r.Context())
			if !ok || tok.AccessToken == "" {
				http.Error(w, "no token", http.StatusInternalServerError)
				return
			}
			fmt.Fprintf(w, "page %s", path)
		})))
	}
	return mux
}

// serverErrors counts the errors the replicas answered, by status and message
// (ids cut off).
type serverErrors struct {
	mu sync.Mutex
	n  map[string]int
}

func (e *serverErrors) add(status int, err error) {
	msg := err.Error()
	if i := strings.IndexAny(msg, "0123456789\"'"); i > 0 {
		msg = msg[:i]
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == nil {
		e.n = map[string]int{}
	}
	e.n[fmt.Sprintf("%d %s", status, msg)]++
}

func (e *serverErrors) report(t *testing.T) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	b.WriteString("errors answered by the replicas (status, message up to the first id):")
	for _, k := range slices.Sorted(maps.Keys(e.n)) {
		fmt.Fprintf(&b, "\n  %6d  %s", e.n[k], k)
	}
	t.Log(b.String())
}

// switchHandler lets a server start before its handler exists.
type switchHandler struct {
	mu sync.RWMutex
	h  http.Handler
}

func (s *switchHandler) set(h http.Handler) { s.mu.Lock(); s.h = h; s.mu.Unlock() }

func (s *switchHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	h := s.h
	s.mu.RUnlock()
	h.ServeHTTP(w, r)
}

// TestLoad: 500 users on two replicas for 30 s while Redis restarts once.
func TestLoad(t *testing.T) {
	redis.SetLogger(quiet{}) // go-redis logs every failed dial during the outage
	rs := startRedis(t)
	sys := newSystem(t, rs.url())
	us := make([]*user, users)
	for i := range us {
		u := sys.idp.AddUser(entratest.User{TenantID: sys.tenant.ID, UPN: fmt.Sprintf("u%03d@load.example", i), DisplayName: fmt.Sprint("User ", i)})
		us[i] = newUser(sys, i, u)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	outage := make(chan window, 1)
	go func() { outage <- restartRedis(t, ctx, rs, start) }()
	total := run(ctx, us, start)
	w := <-outage
	total.report(t, w, time.Since(start))
	sys.errs.report(t)
	total.check(t, w)
}

// quiet is a go-redis logger that drops its messages.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// window is when Redis was down, as offsets from the start of the run.
type window struct{ down, up time.Duration }

// restartRedis stops Redis at outageAt and starts it again outageFor later.
func restartRedis(t *testing.T, ctx context.Context, rs *redisServer, start time.Time) window {
	var w window
	select {
	case <-time.After(outageAt):
	case <-ctx.Done():
		return w
	}
	w.down = time.Since(start)
	if err := rs.stop(); err != nil {
		t.Logf("redis-server exited with %v", err)
	}
	<-time.After(outageFor) // the outage itself, not a wait for a condition
	if err := rs.start(); err != nil {
		t.Errorf("restart redis-server: %v", err)
	}
	w.up = time.Since(start)
	return w
}

// run lets every user browse until ctx ends and merges their results.
func run(ctx context.Context, us []*user, start time.Time) *results {
	var wg sync.WaitGroup
	for _, u := range us {
		wg.Go(func() { u.browse(ctx, start) })
	}
	wg.Wait()
	total := newResults()
	for _, u := range us {
		total.merge(u.res)
	}
	return total
}
