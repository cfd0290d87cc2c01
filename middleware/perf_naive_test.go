package middleware_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/gorilla/sessions"
	"github.com/redis/go-redis/v9"

	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache/redisstore/redistest"
)

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
