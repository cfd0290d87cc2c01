package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
	"github.com/consentry/consentry/tokencache/redisstore"
	"github.com/consentry/consentry/tokencache/redisstore/redistest"
)

// smallRedis returns a client of a redis-server of its own, limited to
// maxmemory bytes under policy.
func smallRedis(t *testing.T, maxmemory, policy string) *redis.Client {
	t.Helper()
	rdb := redistest.NewPrivateClient(t)
	ctx := context.Background()
	for k, v := range map[string]string{"maxmemory": maxmemory, "maxmemory-policy": policy} {
		if err := rdb.ConfigSet(ctx, k, v).Err(); err != nil {
			t.Fatalf("CONFIG SET %s %s: %v", k, v, err)
		}
	}
	return rdb
}

// TestRedisFloodCannotEvictTokens runs the Redis deployment the package
// documents on two real redis-servers: tokens in one (noeviction), flows and
// kept forms in another (FlowStore; a small maxmemory, allkeys-lru). A flood
// of anonymous 16 KiB form posts, three times the flow Redis's memory, evicts
// flows only: every signed-in user's token partition stays, a restarted
// replica serves them without Entra, and a new user still signs in.
func TestRedisFloodCannotEvictTokens(t *testing.T) {
	ctx := context.Background()
	tokensRDB := smallRedis(t, "64mb", "noeviction")
	flowsRDB := smallRedis(t, "4mb", "allkeys-lru")
	e := newEnv(t)
	cache, err := tokencache.New(redisstore.New(tokensRDB), tokencache.WithKey("k1", []byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	e.cfg.Cache = cache
	withFlows := func(c *middleware.Config) { c.FlowStore = redisstore.New(flowsRDB) }
	e.serveApp(t, withFlows)
	var users []*entratest.Browser
	for _, name := range []string{"ada", "bob", "cy", "dee", "eve"} {
		b := e.browser(e.addUser(name), entratest.Accept)
		if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusOK {
			t.Fatalf("sign-in of %s: %d%s", name, p.StatusCode, trail(p))
		}
		users = append(users, b)
	}
	before := tokensRDB.DBSize(ctx).Val()
	if n := floodPosts(t, e, 800, middleware.MaxAnonymousResumeBody-200); n != 800 {
		t.Fatalf("%d of 800 anonymous posts went to Entra, want all", n)
	}
	if ev := infoField(t, flowsRDB, "evicted_keys"); ev == "0" {
		t.Fatal("the flood did not fill the flow Redis: the test proves nothing")
	}
	if after := tokensRDB.DBSize(ctx).Val(); after != before {
		t.Errorf("token Redis held %d keys before the flood, %d after", before, after)
	}
	e.serveApp(t, withFlows) // a restarted replica: only Redis has the tokens
	e.idp.ResetCounts()
	for _, b := range users {
		if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusOK || e.entraCalls() != 0 {
			t.Fatalf("after the flood %s got %d with %d calls to Entra%s", b.User, p.StatusCode, e.entraCalls(), trail(p))
		}
	}
	if p := e.get(t, e.browser(e.addUser("fay"), entratest.Accept), "/profile"); p.StatusCode != http.StatusOK {
		t.Errorf("a sign-in after the flood: %d%s", p.StatusCode, trail(p))
	}
}

// floodPosts sends n anonymous form posts of size bytes from the app's
// origin, each from a new browser, straight to the app's handler, and
// returns how many were sent to Entra (302); the others got 503.
func floodPosts(t *testing.T, e *env, n, size int) (redirected int) {
	t.Helper()
	e.mu.Lock()
	h := e.handler
	e.mu.Unlock()
	body := strings.Repeat("x", size)
	for i := range n {
		r := httptest.NewRequest(http.MethodPost, e.srv.URL+"/compose", strings.NewReader(body))
		r.Header.Set("Origin", e.srv.URL)
		r.Header.Set("Content-Type", "text/plain")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusFound:
			redirected++
		case http.StatusServiceUnavailable:
		default:
			t.Fatalf("anonymous post %d: %d, want 302 to Entra or 503: %s", i, w.Code, w.Body)
		}
	}
	return redirected
}

// infoField returns a field of Redis's INFO.
func infoField(t *testing.T, rdb *redis.Client, field string) string {
	t.Helper()
	info, err := rdb.Info(context.Background(), "all").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	t.Fatalf("INFO has no %s", field)
	return ""
}

// TestSharedFlowStoreWarns: New warns when pending flows would share an
// out-of-process token store, and not when FlowStore is set.
func TestSharedFlowStoreWarns(t *testing.T) {
	e := newEnv(t)
	cache, err := tokencache.New(&flakyStore{mem: tokencache.NewMemoryStore()}, tokencache.WithKey("k1", []byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	const warning = "Config.FlowStore is not set"
	cfg := e.config(t, cache)
	e.newMiddleware(t, cfg)
	if !strings.Contains(e.logs.String(), warning) {
		t.Errorf("no warning for a flow store shared with Redis-like tokens; logs:\n%s", e.logs)
	}
	e.logs = &syncBuffer{}
	cfg = e.config(t, cache)
	cfg.FlowStore = tokencache.NewMemoryStore()
	e.newMiddleware(t, cfg)
	if strings.Contains(e.logs.String(), warning) {
		t.Error("a warning although FlowStore is set")
	}
}

// TestFloodCannotCancelSignIns: with the default in-process flow store, a
// flood of anonymous 16 KiB form posts (half again the store's size) cancels
// neither an anonymous browser's sign-in under way nor a signed-in user's
// consent round trip: both complete afterwards.
func TestFloodCannotCancelSignIns(t *testing.T) {
	e := newEnv(t)
	e.serveApp(t, nil)
	newcomer := e.browser(e.addUser("nina"), entratest.Accept)
	toEntra := startRoundTrip(t, e, newcomer, "/profile")
	member := e.browser(e.user, entratest.Accept)
	if p := e.get(t, member, "/profile"); p.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	consent := startRoundTrip(t, e, member, "/mail")
	sent := floodPosts(t, e, 1500, middleware.MaxAnonymousResumeBody-200)
	t.Logf("%d of 1500 anonymous posts went to Entra, the others got 503", sent)
	for _, c := range []struct {
		b    *entratest.Browser
		next string
	}{{newcomer, toEntra}, {member, consent}} {
		if p := open(t, c.b, c.next); p.StatusCode != http.StatusOK {
			t.Errorf("%s's round trip after the flood: %d %s%s", c.b.User, p.StatusCode, p.Body, trail(p))
		}
	}
}

// startRoundTrip loads path with b up to the app's redirect to Entra and
// returns where it points.
func startRoundTrip(t *testing.T, e *env, b *entratest.Browser, path string) string {
	t.Helper()
	resp, err := b.Client.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET %s: %d, want 302 to Entra", path, resp.StatusCode)
	}
	return resp.Header.Get("Location")
}
