package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
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
