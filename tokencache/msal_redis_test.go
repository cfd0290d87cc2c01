package tokencache_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/alicebob/miniredis/v2"
	"github.com/consentry/consentry/tokencache"
	"github.com/consentry/consentry/tokencache/redisstore"
	"github.com/consentry/consentry/tokencache/redisstore/redistest"
	"github.com/redis/go-redis/v9"
)

// TestMSALSurvivesRestartThroughRedis signs a user in on one "process" (a
// Cache and MSAL client), then builds a new Cache and client over the same
// Redis, as after a restart: the account and its token are served from Redis
// without a network call.
func TestMSALSurvivesRestartThroughRedis(t *testing.T) {
	servers := map[string]func(t *testing.T) string{
		"miniredis": func(t *testing.T) string { return "redis://" + miniredis.RunT(t).Addr() },
		"redis":     func(t *testing.T) string { return redistest.URL(t) },
	}
	for name, urlOf := range servers {
		t.Run(name, func(t *testing.T) {
			url, key := urlOf(t), newKey(t)
			prefix := prefixOn(t, url) // REDIS_URL may be shared
			ts := newTokenServer(t)
			process := func() (*tokencache.Cache, func()) {
				opt, err := redis.ParseURL(url)
				if err != nil {
					t.Fatal(err)
				}
				rdb := redis.NewClient(opt)
				c := newCache(t, redisstore.New(rdb, redisstore.WithPrefix(prefix)), tokencache.WithKey("k1", key))
				return c, func() { _ = rdb.Close() }
			}
			c1, stop1 := process()
			alice := signIn(t, newClient(t, ts, c1), "alice")
			stop1()

			c2, stop2 := process()
			defer stop2()
			client := newClient(t, ts, c2)
			acct, err := client.Account(context.Background(), alice.Account.HomeAccountID)
			if err != nil || acct.HomeAccountID != alice.Account.HomeAccountID {
				t.Fatalf("Account after restart = %+v, %v; want alice", acct, err)
			}
			calls := ts.calls.Load()
			res, err := silent(client, acct)
			wantTokenOf(t, res, err, "alice")
			if ts.calls.Load() != calls {
				t.Error("silent call after restart went to the network; want it served from Redis")
			}
		})
	}
}

// TestMSALRedisOutage stops Redis under a running MSAL client: the silent
// call fails with ErrUnavailable (not "no token"), and succeeds once Redis is
// back on the same address, with no new client.
func TestMSALRedisOutage(t *testing.T) {
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		t.Fatal(err)
	}
	addr := mr.Addr()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	ts := newTokenServer(t)
	client := newClient(t, ts, newCache(t, redisstore.New(rdb), tokencache.WithKey("k1", newKey(t))))
	alice := signIn(t, client, "alice")

	mr.Close()
	if _, err := silent(client, alice.Account); !errors.Is(err, tokencache.ErrUnavailable) {
		t.Fatalf("silent call with Redis down: %v; want ErrUnavailable", err)
	}
	if err := mr.StartAddr(addr); err != nil {
		t.Fatal(err)
	}
	defer mr.Close()
	res, err := silent(client, alice.Account)
	wantTokenOf(t, res, err, "alice")
}

// TestMSALReplicasWriteTogether: two replicas (each its own Cache and MSAL
// client over one Redis) get tokens for the same users at the same time,
// for different scopes. A third replica then finds both access tokens of
// every user in the cache, with no network call: no write was lost.
func TestMSALReplicasWriteTogether(t *testing.T) {
	addr, key := miniredis.RunT(t).Addr(), newKey(t)
	ts := newTokenServer(t)
	replica := func() confidential.Client {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { _ = rdb.Close() })
		return newClient(t, ts, newCache(t, redisstore.New(rdb), tokencache.WithKey("k1", key)))
	}
	users := []string{"alice", "bob", "carol", "dave"}
	var wg sync.WaitGroup
	for i, scope := range []string{"Mail.Read", "Calendars.Read"} {
		client := replica()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, u := range users {
				code := "code-" + u
				if _, err := client.AcquireTokenByAuthCode(context.Background(), code, redirectURI, []string{scope}); err != nil {
					t.Errorf("replica %d, %s: %v", i, u, err)
				}
			}
		}()
	}
	wg.Wait()
	third, calls := replica(), ts.calls.Load()
	for _, u := range users {
		acct, err := third.Account(context.Background(), homeAccountID(u))
		if err != nil {
			t.Fatal(err)
		}
		for _, scope := range []string{"Mail.Read", "Calendars.Read"} {
			res, err := third.AcquireTokenSilent(context.Background(), []string{scope}, confidential.WithSilentAccount(acct))
			wantTokenOf(t, res, err, u)
		}
	}
	if got := ts.calls.Load() - calls; got != 0 {
		t.Fatalf("third replica made %d network calls; want 0 (a replica's write was lost)", got)
	}
}

// prefixOn returns a key prefix for t on the Redis at url, cleaned up after.
func prefixOn(t *testing.T, url string) string {
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return redistest.Prefix(t, rdb)
}
