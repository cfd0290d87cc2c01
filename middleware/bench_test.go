package middleware_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
	"github.com/consentry/consentry/tokencache/redisstore"
	"github.com/consentry/consentry/tokencache/redisstore/redistest"
)

// Every benchmark serves GET /profile through okHandler, with the same loop
// (serveLoop): Bare without the middleware, the others behind
// Require("User.Read"). See BENCHMARKS.md for the numbers.

func okHandler(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }

// serveLoop serves the request of iteration i, req(i), through h.
func serveLoop(b *testing.B, h http.Handler, req func(i int) *http.Request) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req(i))
		if w.Code != http.StatusNoContent {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// same returns r for every iteration.
func same(r *http.Request) func(int) *http.Request { return func(int) *http.Request { return r } }

// BenchmarkBare is the handler without the middleware, the baseline.
func BenchmarkBare(b *testing.B) {
	r := httptest.NewRequest("GET", "https://app.example/profile", nil)
	serveLoop(b, http.HandlerFunc(okHandler), same(r))
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
// ones. One request is reused with its Cookie header changed, as a fresh
// request from the network would carry it. Each active user makes one
// request before the timer starts (steady state: every user has been seen). With active=known every request
// touches cache entries last used a whole round ago: at 100,000 users those are
// out of the CPU caches, so that case measures memory latency (BENCHMARKS.md).
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
			next := func(i int) *http.Request {
				r.Header["Cookie"][0] = active[i%c.active]
				return r
			}
			for i := range c.active { // warm: one request per active user, as in steady state
				h.ServeHTTP(httptest.NewRecorder(), next(i))
			}
			serveLoop(b, h, next)
		})
	}
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
	e := newEnv(b)
	store := redisstore.New(redistest.NewClient(b), redisstore.WithPrefix("bench:"+rand.Text()+":"))
	cache, err := tokencache.New(store, tokencache.WithKey("k1", []byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		b.Fatal(err)
	}
	mw := e.newMiddleware(b, e.config(b, cache))
	e.setHandler(e.routes(mw))
	r := signedInRequest(b, e, e.browser(e.user, entratest.Accept))
	acct, _ := mw.Account(r)
	require := mw.Require("User.Read")(http.HandlerFunc(okHandler))
	cold := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.ForgetTokens(mw, acct.HomeAccountID)
		require.ServeHTTP(w, r)
	})
	serveLoop(b, cold, same(r))
}

// signedInRequest signs br's user in at /profile and returns a GET /profile
// carrying their cookies.
func signedInRequest(b *testing.B, e *env, br *entratest.Browser) *http.Request {
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
// session decoded and AcquireTokenSilent called on every request.
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
	serveLoop(b, naiveRequire(client, store, []string{"User.Read"}, http.HandlerFunc(okHandler)), same(r))
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
