package middleware_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache/redisstore"
	"github.com/consentry/consentry/tokencache/redisstore/redistest"
)

// Every benchmark serves GET /profile through okHandler, with the same loop
// (serveLoop): Bare without the middleware, the others behind
// Require("User.Read"). See BENCHMARKS.md for the numbers.

func okHandler(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }

// serveLoop serves the request of iteration i, req(i), through h. Besides
// ns/op it reports cpu-ns/op, the process's CPU time per request (GC
// included): on a shared machine, time spent waiting for a core is in ns/op
// only.
func serveLoop(b *testing.B, h http.Handler, req func(i int) *http.Request) {
	b.ReportAllocs()
	var cpu0 time.Duration
	for i := 0; b.Loop(); i++ {
		if i == 0 {
			cpu0 = cpuTime()
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req(i))
		if w.Code != http.StatusNoContent {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// same returns r for every iteration.
func same(r *http.Request) func(int) *http.Request { return func(int) *http.Request { return r } }

// BenchmarkBare is the handler without the middleware, the baseline.
func BenchmarkBare(b *testing.B) {
	r := httptest.NewRequest("GET", "https://app.example/profile", nil)
	serveLoop(b, http.HandlerFunc(okHandler), same(r))
}

type limitKey struct{}

// BenchmarkLimit is the least a protected route can do per request: one map
// lookup by the whole Cookie header and the value in the request's context,
// for the same request as FastPath. It is the floor FastPath is compared to.
func BenchmarkLimit(b *testing.B) {
	e := newEnv(b)
	r := signedInRequest(b, e, e.browser(e.user, entratest.Accept))
	known := map[string]*middleware.Token{r.Header.Get("Cookie"): {AccessToken: "eyJ"}}
	var next http.Handler = http.HandlerFunc(okHandler) // as Require's: the request escapes
	limit := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := known[r.Header.Get("Cookie")]
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), limitKey{}, tok)))
	})
	serveLoop(b, limit, same(r))
}

// BenchmarkFastPath is a user signed in through the emulator with a cached
// token: session (memoized cookie decode), in-process cache hit, token in context.
func BenchmarkFastPath(b *testing.B) {
	e := newEnv(b)
	r := signedInRequest(b, e, e.browser(e.user, entratest.Accept))
	serveLoop(b, e.mw.Require("User.Read")(http.HandlerFunc(okHandler)), same(r))
}

// BenchmarkFastPathUsers is the fast path with many users known: their
// sessions and tokens are seeded through test hooks (no sign-in), then
// requests go round robin over the active users, spread evenly over all known
// ones. Each active user makes one request before the timer starts (steady
// state: every user has been seen). With active=known every request touches
// cache entries last used a whole round ago: at 100,000 users those are out
// of the CPU caches, so that case measures memory latency (BENCHMARKS.md).
//
// The Cookie header is presented as a server presents it: bytes it has just
// read, hot in the CPU cache, not a string last touched a whole round ago. The
// active users' cookies are packed back to back in one byte slice in the order
// they are requested (the only copy the timed loop keeps, so the heap is as
// large as when it kept the strings), and each timed request copies its user's
// cookie from there into one reused buffer and carries that buffer as its
// header string (unsafe.String; one request is reused, as before). The copy
// reads the packed cookies as one sequential stream, as a server reads its
// socket buffer, so it costs about the same in every row (~640 bytes
// streamed); the middleware then reads a hot header. Nothing keeps the header
// string past its request on a hit (the caches copy their keys); the warm-up
// requests, the ones that make cache entries, carry ordinary strings.
func BenchmarkFastPathUsers(b *testing.B) {
	for _, c := range []struct{ known, active int }{{10, 10}, {100_000, 10}, {100_000, 1000}, {100_000, 100_000}} {
		b.Run(fmt.Sprintf("known=%d/active=%d", c.known, c.active), func(b *testing.B) {
			e := newEnv(b)
			cfg := e.cfg
			cfg.TokenCacheSize = 2 * c.known
			mw := e.newMiddleware(b, cfg)
			all := seedUsers(b, e, mw, c.known)
			active := make([]string, c.active)
			for i := range active {
				active[i] = all[i*(c.known/c.active)]
			}
			r := httptest.NewRequest("GET", e.srv.URL+"/profile", nil)
			r.Header["Cookie"] = []string{""}
			h := mw.Require("User.Read")(http.HandlerFunc(okHandler))
			for _, ck := range active { // warm: one request per active user, as in steady state
				r.Header["Cookie"][0] = ck
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
			packed, at := packCookies(active) // the one copy kept: as many bytes as active held
			buf := make([]byte, 0, 4096)
			serveLoop(b, h, func(i int) *http.Request {
				j := i % c.active
				buf = append(buf[:0], packed[at[j]:at[j+1]]...)
				r.Header["Cookie"][0] = unsafe.String(unsafe.SliceData(buf), len(buf))
				return r
			})
		})
	}
}

// packCookies returns cookies back to back in one byte slice, cookie i
// at [at[i], at[i+1]).
func packCookies(cookies []string) (packed []byte, at []int) {
	at = make([]int, 1, len(cookies)+1)
	for _, c := range cookies {
		packed = append(packed, c...)
		at = append(at, len(packed))
	}
	return packed, at
}

// seedUsers gives mw n signed-in users with a cached User.Read token each and
// returns their Cookie header values.
func seedUsers(b testing.TB, e *env, mw *middleware.Middleware, n int) []string {
	b.Helper()
	exp := e.clock.Now().Add(time.Hour)
	scopes := []string{"User.Read"} // shared, as a route's scopes are
	cookies := make([]string, n)
	for i := range cookies {
		acct := middleware.Account{HomeAccountID: fmt.Sprintf("%08x-0000-0000-0000-000000000000.%s", i, e.tenant.ID),
			TenantID: e.tenant.ID, Username: fmt.Sprintf("user%d@contoso.example", i), Name: "User"}
		middleware.SeedToken(mw, acct, middleware.Token{AccessToken: "eyJ" + rand.Text(), ExpiresOn: exp, Scopes: scopes})
		c := middleware.SessionCookie(mw, acct)
		cookies[i] = c.Name + "=" + c.Value // as a browser sends it
	}
	return cookies
}

// BenchmarkFastPathRedis is a signed-in user whose token this replica has not
// seen: the in-process cache is emptied before every request, so the token
// comes from MSAL over an encrypted tokencache on real Redis.
func BenchmarkFastPathRedis(b *testing.B) {
	c := newColdRedis(b)
	require := c.mw.Require("User.Read")(http.HandlerFunc(okHandler))
	cold := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.ForgetTokens(c.mw, c.acct.HomeAccountID)
		require.ServeHTTP(w, r)
	})
	serveLoop(b, cold, same(c.r))
}

// BenchmarkColdReplica is a user's first request on a replica: like
// FastPathRedis, and the session cookie is decoded again too (the session
// memo forgets it before every request, and each request is a fresh copy).
func BenchmarkColdReplica(b *testing.B) {
	c := newColdRedis(b)
	require := c.mw.Require("User.Read")(http.HandlerFunc(okHandler))
	session := sessionCookie(b, c.r)
	cold := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.ForgetTokens(c.mw, c.acct.HomeAccountID)
		middleware.ForgetSession(c.mw, session)
		require.ServeHTTP(w, r)
	})
	serveLoop(b, cold, fresh(c.r))
}

// fresh returns a shallow copy of r for every iteration: gorilla/sessions
// keeps the sessions it decoded in the request it was given (GetRegistry
// replaces *r), so serving one *http.Request again and again decodes its
// session cookie only once. Each copy gets a context of its own, so a
// registry r may have gained before (a session read through r) is never
// shared by the copies.
func fresh(r *http.Request) func(int) *http.Request {
	return func(int) *http.Request { return r.WithContext(context.Background()) }
}

// BenchmarkRedisGet is the floor of the cold path: one GET, through the same
// kind of client, of the sealed partition FastPathRedis reads.
func BenchmarkRedisGet(b *testing.B) {
	c := newColdRedis(b)
	key := c.prefix + c.acct.HomeAccountID
	if n, err := c.rdb.StrLen(b.Context(), key).Result(); err != nil || n == 0 {
		b.Fatalf("partition %q: %d bytes, %v", key, n, err)
	}
	get := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := c.rdb.Get(r.Context(), key).Bytes(); err != nil {
			b.Fatal(err)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	serveLoop(b, get, same(c.r))
}

// coldRedis is a user signed in through a Middleware whose token cache is
// encrypted on real Redis (client rdb, keys under prefix).
type coldRedis struct {
	e      *env
	mw     *middleware.Middleware
	rdb    *redis.Client
	prefix string
	r      *http.Request // GET /profile with the user's cookies
	acct   middleware.Account
}

func newColdRedis(b *testing.B) coldRedis {
	c := coldRedis{e: newEnv(b), rdb: redistest.NewClient(b), prefix: "bench:" + rand.Text() + ":"}
	store := redisstore.New(c.rdb, redisstore.WithPrefix(c.prefix))
	c.e.serveOver(b, store)
	c.mw = c.e.mw
	c.r = signedInRequest(b, c.e, c.e.browser(c.e.user, entratest.Accept))
	c.acct, _ = c.mw.Account(c.r)
	return c
}

// sessionCookie returns the value of r's session cookie of the default store.
func sessionCookie(b *testing.B, r *http.Request) string {
	b.Helper()
	c, err := r.Cookie(sessionCookieName)
	if err != nil {
		b.Fatalf("no %s cookie: %v", sessionCookieName, err)
	}
	return c.Value
}

// signedInRequest signs br's user in at /profile and returns a GET /profile
// carrying their cookies.
func signedInRequest(b testing.TB, e *env, br *entratest.Browser) *http.Request {
	b.Helper()
	if p, err := br.Get(e.srv.URL + "/profile"); err != nil || p.StatusCode != http.StatusOK {
		b.Fatalf("sign-in: %v %s", err, trail(p))
	}
	r := httptest.NewRequest("GET", e.srv.URL+"/profile", nil)
	for _, c := range br.Client.Jar.Cookies(mustURL(b, e.srv.URL)) {
		r.AddCookie(c)
	}
	return r
}

// naiveCache is the cache.ExportReplace a developer writes by hand after the
// MSAL docs: a partition's whole MSAL cache as one Redis value, read and
// unmarshalled on every call, written on every Export.
type naiveCache struct {
	rdb    *redis.Client
	prefix string
}

func (c naiveCache) Replace(ctx context.Context, u cache.Unmarshaler, h cache.ReplaceHints) error {
	data, err := c.rdb.Get(ctx, c.prefix+h.PartitionKey).Bytes()
	if errors.Is(err, redis.Nil) {
		data, err = []byte("{}"), nil
	}
	if err != nil {
		return err
	}
	return u.Unmarshal(data)
}

func (c naiveCache) Export(ctx context.Context, m cache.Marshaler, h cache.ExportHints) error {
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	return c.rdb.Set(ctx, c.prefix+h.PartitionKey, data, 0).Err()
}

type naiveTokenKey struct{}

// naiveRequire is the hand-written per-route middleware: decode the session,
// look the account up, AcquireTokenSilent on every request.
func naiveRequire(client confidential.Client, store sessions.Store, scopes []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := store.Get(r, "session")
		id, _ := sess.Values["account"].(string)
		if id == "" {
			http.Redirect(w, r, "/login", http.StatusFound)
			return
		}
		acct, err := client.Account(r.Context(), id)
		if err != nil {
			http.Error(w, "token cache unavailable", http.StatusServiceUnavailable)
			return
		}
		ar, err := client.AcquireTokenSilent(r.Context(), scopes, confidential.WithSilentAccount(acct))
		if err != nil {
			http.Redirect(w, r, "/login", http.StatusFound)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), naiveTokenKey{}, ar.AccessToken)))
	})
}

// BenchmarkNaiveMSAL is what a developer writes without this package: one
// shared confidential.Client over a Redis-backed ExportReplace, the cookie
// session decoded and AcquireTokenSilent called on every request (each
// request a fresh copy, so its cookie is decoded every time).
func BenchmarkNaiveMSAL(b *testing.B) {
	e := newEnv(b)
	client, err := confidential.New(e.idp.Authority("organizations"), e.app.ClientID, e.cfg.Credential,
		confidential.WithCache(naiveCache{rdb: redistest.NewClient(b), prefix: "naive:" + rand.Text() + ":"}),
		confidential.WithHTTPClient(e.idp.Client()), confidential.WithInstanceDiscovery(false))
	if err != nil {
		b.Fatal(err)
	}
	id := naiveSignIn(b, e, client)
	store := sessions.NewCookieStore(sessionKeys...)
	r := httptest.NewRequest("GET", e.srv.URL+"/profile", nil)
	r.AddCookie(naiveCookie(b, store, id))
	serveLoop(b, naiveRequire(client, store, []string{"User.Read"}, http.HandlerFunc(okHandler)), fresh(r))
}

// naiveSignIn runs the authorization code flow for e.user with client (the
// emulator's browser driver answers its pages) and returns the home account id.
func naiveSignIn(b *testing.B, e *env, client confidential.Client) string {
	b.Helper()
	codes := make(chan string, 1)
	e.setHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		codes <- r.URL.Query().Get("code")
	}))
	redirect := e.srv.URL + "/auth/callback"
	scopes := []string{"User.Read"}
	u, err := client.AuthCodeURL(context.Background(), e.app.ClientID, redirect, scopes)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.browser(e.user, entratest.Accept).Get(u + "&state=" + url.QueryEscape(rand.Text())); err != nil {
		b.Fatalf("authorize: %v", err)
	}
	ar, err := client.AcquireTokenByAuthCode(context.Background(), <-codes, redirect, scopes)
	if err != nil {
		b.Fatalf("redeem: %v", err)
	}
	return ar.Account.HomeAccountID
}

// naiveCookie returns a session cookie holding the account id.
func naiveCookie(b *testing.B, store sessions.Store, id string) *http.Cookie {
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	s, _ := store.Get(r, "session")
	s.Values["account"] = id
	if err := s.Save(r, w); err != nil {
		b.Fatal(err)
	}
	return w.Result().Cookies()[0]
}

// BenchmarkToken is a handler behind Require("User.Read") that also asks
// Token for Calendars.Read, already consented: two in-process cache hits.
func BenchmarkToken(b *testing.B) {
	e := newEnv(b)
	br := e.browser(e.user, entratest.Accept)
	if p, err := br.Get(e.srv.URL + "/calendar"); err != nil || p.StatusCode != http.StatusOK {
		b.Fatalf("consent: %v %s", err, trail(p))
	}
	r := signedInRequest(b, e, br)
	serveLoop(b, e.mw.Require("User.Read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := e.mw.Token(r, "Calendars.Read"); err != nil {
			b.Fatal(err)
		}
		okHandler(w, r)
	})), same(r))
}

// BenchmarkTokenWithoutRequire is Token for User.Read in a handler Require
// does not wrap: the session cookie (memoized decode), then the cache.
func BenchmarkTokenWithoutRequire(b *testing.B) {
	e := newEnv(b)
	r := signedInRequest(b, e, e.browser(e.user, entratest.Accept))
	serveLoop(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := e.mw.Token(r, "User.Read"); err != nil {
			b.Fatal(err)
		}
		okHandler(w, r)
	}), same(r))
}

// BenchmarkRefreshHerd is 200 signed-in users whose access tokens need a
// refresh at the same moment, one request each, all at once, with Entra's
// token endpoint answering in 200 ms (its usual range is 100-300 ms). One
// iteration is one herd; p50-ms, p99-ms and max-ms are the requests'
// latencies over all herds but the first, which runs before the timer
// (first-p99-ms: the server's MSAL clients and its connections to Entra are
// made then; first-discovery: the OpenID configuration requests Entra saw
// in it). Every iteration checks that Entra saw exactly one
// refresh per user. TokenConcurrency 8 was the default before the client pool
// grew on demand; 0 is the default now. cpu-ms is the process's CPU time
// per herd, the emulator's (RSA signatures, TLS) included.
func BenchmarkRefreshHerd(b *testing.B) {
	for _, tc := range []int{8, 0} {
		b.Run(fmt.Sprintf("TokenConcurrency=%d", tc), func(b *testing.B) {
			const users = 200
			e := newEnv(b)
			cfg := e.cfg
			cfg.TokenConcurrency = tc
			t := e.idp.Client().Transport.(*http.Transport).Clone()
			t.MaxIdleConnsPerHost = 256 // as the default HTTPClient does: a herd reuses its connections to Entra
			cfg.HTTPClient = &http.Client{Transport: t}
			e.setHandler(e.routes(e.newMiddleware(b, cfg)))
			e.idp.SetTokenLifetime(4 * time.Minute) // inside the refresh window: every herd refreshes (see TestExpiredHerdOneRefreshPerUser)
			herd := make([]*entratest.Browser, users)
			for i := range herd {
				herd[i] = e.browser(e.addUser(fmt.Sprintf("herd%03d", i)), entratest.Accept)
				if p, err := herd[i].Get(e.srv.URL + "/profile"); err != nil || p.StatusCode != http.StatusOK {
					b.Fatalf("user %d sign-in: %v %s", i, err, trail(p))
				}
			}
			e.idp.SetTokenLatency(200 * time.Millisecond)
			once := func() []time.Duration {
				e.idp.ResetCounts()
				lat := herdLatencies(b, e.srv.URL+"/profile", herd)
				if n := e.idp.Count(entratest.EndpointToken); n != users {
					b.Fatalf("%d token requests, want %d (one refresh per user)", n, users)
				}
				return lat
			}
			first := once() // a server's first herd: MSAL clients and connections made
			firstMeta := e.idp.Count(entratest.EndpointDiscovery)
			slices.Sort(first)
			var lat []time.Duration
			cpu0 := cpuTime()
			for b.Loop() {
				lat = append(lat, once()...)
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N), "cpu-ms")
			slices.Sort(lat)
			q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
			b.ReportMetric(q(0.5), "p50-ms")
			b.ReportMetric(q(0.99), "p99-ms")
			b.ReportMetric(q(1), "max-ms")
			b.ReportMetric(float64(first[len(first)*99/100])/1e6, "first-p99-ms")
			b.ReportMetric(float64(firstMeta), "first-discovery")
		})
	}
}

// herdLatencies sends GET u from every browser at once and returns each
// request's latency; any answer but 200 fails b.
func herdLatencies(b *testing.B, u string, browsers []*entratest.Browser) []time.Duration {
	lat := make([]time.Duration, len(browsers))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, br := range browsers {
		wg.Go(func() {
			<-start
			t0 := time.Now()
			resp, err := br.Client.Get(u)
			lat[i] = time.Since(t0)
			answered(b, resp, err, http.StatusOK)
		})
	}
	close(start)
	wg.Wait()
	return lat
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// graphScopes are 20 delegated permissions of one resource (Microsoft Graph),
// one route each in BenchmarkMemoryPerUser.
var graphScopes = []string{"User.Read", "Mail.Read", "Calendars.Read", "Contacts.Read", "Files.Read",
	"Notes.Read", "Tasks.Read", "People.Read", "Sites.Read.All", "Chat.Read", "Presence.Read",
	"User.ReadBasic.All", "Mail.Send", "Calendars.ReadWrite", "Files.ReadWrite", "Contacts.ReadWrite",
	"Tasks.ReadWrite", "Notes.ReadWrite", "Mail.ReadWrite", "MailboxSettings.Read"}

// BenchmarkMemoryPerUser is the heap the middleware holds per signed-in user
// (B/user: live heap after a GC, divided by users) once each user has made
// one request to each of routes routes of one resource, all served by one
// access token of tok bytes (Entra's are 1-2.5 KB; seedUsers' are 29), as
// after incremental consent. The timed loop is the fast path over them.
func BenchmarkMemoryPerUser(b *testing.B) {
	for _, c := range []struct{ users, routes, tok int }{
		{100_000, 1, 29}, {10_000, 1, 29}, {10_000, 20, 29}, {10_000, 1, 1500}, {10_000, 20, 1500},
	} {
		b.Run(fmt.Sprintf("users=%d/routes=%d/tok=%d", c.users, c.routes, c.tok), func(b *testing.B) {
			e := newEnv(b)
			cfg := e.cfg
			cfg.TokenCacheSize = 2 * c.users * c.routes // room for every (user, route) where entries are per route
			mw := e.newMiddleware(b, cfg)
			hs := make([]http.Handler, c.routes)
			for i := range hs {
				hs[i] = mw.Require(graphScopes[i])(http.HandlerFunc(okHandler))
			}
			before := liveHeap()
			cookies := seedRouteUsers(b, e, mw, c.users, c.tok, c.routes)
			r := httptest.NewRequest("GET", e.srv.URL+"/profile", nil)
			r.Header["Cookie"] = []string{""}
			for _, ck := range cookies {
				r.Header["Cookie"][0] = ck
				for _, h := range hs {
					h.ServeHTTP(httptest.NewRecorder(), r)
				}
			}
			perUser := float64(liveHeap()-before-cookieBytes(cookies)) / float64(c.users)
			serveLoop(b, hs[0], func(i int) *http.Request { r.Header["Cookie"][0] = cookies[i%len(cookies)]; return r })
			b.ReportMetric(perUser, "B/user")
		})
	}
}

// seedRouteUsers gives mw n signed-in users, each with one access token of
// tokLen bytes for the first routes of graphScopes, and returns their Cookie
// header values.
func seedRouteUsers(b *testing.B, e *env, mw *middleware.Middleware, n, tokLen, routes int) []string {
	exp := e.clock.Now().Add(time.Hour)
	cookies := make([]string, n)
	for i := range cookies {
		acct := middleware.Account{HomeAccountID: fmt.Sprintf("%08x-0000-0000-0000-000000000000.%s", i, e.tenant.ID),
			TenantID: e.tenant.ID, Username: fmt.Sprintf("user%d@contoso.example", i), Name: "User"}
		tok := "eyJ" + strings.Repeat(rand.Text(), tokLen/26+1)[:tokLen-3]
		for _, s := range graphScopes[:routes] {
			middleware.SeedToken(mw, acct, middleware.Token{AccessToken: tok, ExpiresOn: exp, Scopes: []string{s}})
		}
		c := middleware.SessionCookie(mw, acct)
		cookies[i] = c.Name + "=" + c.Value
	}
	return cookies
}

// cookieBytes is the heap the benchmark's own cookie strings take.
func cookieBytes(cookies []string) uint64 {
	n := uint64(len(cookies)) * 16
	for _, c := range cookies {
		n += uint64(len(c))
	}
	return n
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// loopbackClients is the number of concurrent keep-alive clients of
// BenchmarkLoopback, and loopbackUsers the signed-in users they take turns as.
const loopbackClients, loopbackUsers = 64, 8

// answered reads and closes the answer resp (or err) of a benchmark's
// request and reports whether it came with status want; otherwise it fails b.
func answered(b *testing.B, resp *http.Response, err error, want int) bool {
	if err != nil {
		b.Error(err)
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Errorf("status %d, want %d", resp.StatusCode, want)
		return false
	}
	return true
}

// BenchmarkLoopback is GET /profile end to end: a net/http server on
// 127.0.0.1 and loopbackClients keep-alive clients sending requests at once,
// each with the cookies of one of loopbackUsers users (seeded, tokens
// cached). Bare serves okHandler alone, FastPath behind Require("User.Read");
// req/s is requests per second of wall time, cpu-ns/op the process's CPU per
// request (clients, server and middleware). Alternating sends batches of
// loopbackBatch requests to the two servers in turn and reports FastPath's
// req/s and CPU per request over Bare's, so that a load that changes during
// the run weighs on both alike.
func BenchmarkLoopback(b *testing.B) {
	b.Run("Bare", func(b *testing.B) {
		u, c, cookies := loopbackServer(b, false)
		loopbackReport(b, func() time.Duration { return loopbackRun(b, c, u, cookies, b.N) })
	})
	b.Run("FastPath", func(b *testing.B) {
		u, c, cookies := loopbackServer(b, true)
		loopbackReport(b, func() time.Duration { return loopbackRun(b, c, u, cookies, b.N) })
	})
	b.Run("Alternating", func(b *testing.B) {
		var u [2]string // Bare, FastPath
		var cookies [2][]string
		var c *http.Client
		u[0], c, cookies[0] = loopbackServer(b, false)
		u[1], _, cookies[1] = loopbackServer(b, true)
		var wall, cpu [2]time.Duration
		b.ResetTimer()
		for k := 0; 2*k*loopbackBatch < b.N; k++ {
			for j := range 2 {
				i := j ^ k&1 // Bare first, then FastPath first: no side always follows the other
				cpu0 := cpuTime()
				wall[i] += loopbackRun(b, c, u[i], cookies[i], loopbackBatch)
				cpu[i] += cpuTime() - cpu0
			}
		}
		b.ReportMetric(float64(wall[0])/float64(wall[1]), "req/s-ratio")
		b.ReportMetric(float64(cpu[1])/float64(cpu[0]), "cpu-ratio")
	})
}

// loopbackBatch is the number of requests Alternating sends to one server
// before it turns to the other.
const loopbackBatch = 2048

// loopbackServer starts a loopback server of okHandler, behind
// Require("User.Read") if protected, and returns its /profile URL, a client
// keeping a connection for each of loopbackClients, and the Cookie headers
// of its signed-in users.
func loopbackServer(b *testing.B, protected bool) (string, *http.Client, []string) {
	e := newEnv(b)
	cookies := seedUsers(b, e, e.mw, loopbackUsers)
	var h http.Handler = http.HandlerFunc(okHandler)
	if protected {
		h = e.mw.Require("User.Read")(h)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = loopbackClients // every client keeps its connection
	b.Cleanup(t.CloseIdleConnections)
	return srv.URL + "/profile", &http.Client{Transport: t}, cookies
}

// loopbackReport runs run, which sends b.N requests and returns the wall
// time they took, and reports req/s and cpu-ns/op.
func loopbackReport(b *testing.B, run func() time.Duration) {
	b.ResetTimer()
	cpu0 := cpuTime()
	wall := run()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N)/wall.Seconds(), "req/s")
}

// loopbackRun sends n GET u from loopbackClients goroutines, each going round
// the users' cookies, and returns the wall time they took. Any answer but
// 204 fails b.
func loopbackRun(b *testing.B, c *http.Client, u string, cookies []string, n int) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for g := range loopbackClients {
		wg.Go(func() {
			for i := g; next.Add(1) <= int64(n); i++ {
				r, _ := http.NewRequest("GET", u, nil)
				r.Header.Set("Cookie", cookies[i%len(cookies)])
				if resp, err := c.Do(r); !answered(b, resp, err, http.StatusNoContent) {
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(t0)
}
