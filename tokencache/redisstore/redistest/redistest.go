package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"testing"

	"github.com/redis/go-redis/v9"
)

// URL returns the URL of a real Redis server for t (redis://host:port/db).
// If REDIS_URL is set it is returned as is, and the server is shared: use
// per-test key prefixes. Otherwise URL starts redis-server from PATH on a free
// 127.0.0.1 port without persistence (--save "" --appendonly no), waits until
// it answers PING and stops it when t's cleanup runs. Without REDIS_URL and
// redis-server it calls t.Skip with the reason; a redis-server that does not
// start fails t, with its log.
func URL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return "redis://" + startOwn(t, "REDIS_URL is not set and redis-server is not in PATH; set REDIS_URL or install redis-server to run the real-Redis tests") + "/0"
}

// NewClient returns a client for URL(t), closed when t's cleanup runs.
func NewClient(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(URL(t))
	if err != nil {
		t.Fatalf("redistest: REDIS_URL: %v", err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// NewPrivateClient returns a client of a redis-server of t's own, whatever
// REDIS_URL says, stopped and closed when t's cleanup runs: for tests that
// change the server's configuration (maxmemory, eviction policy), which a
// shared server must not see. Without redis-server in PATH it calls t.Skip.
func NewPrivateClient(t testing.TB) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: startOwn(t, "redis-server is not in PATH; install it to run the tests that need a Redis of their own")})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// startOwn starts a redis-server of t's own and returns its address; without
// redis-server in PATH it skips t, saying why.
func startOwn(t testing.TB, why string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redistest: " + why)
	}
	addr, err := start(t, bin)
	if err != nil {
		t.Fatalf("redistest: could not start %s: %v", bin, err)
	}
	return addr
}

func start(t testing.TB, bin string) (string, error) {
	p := newProcess(t, bin, t.TempDir(), "redis", "--save", "", "--appendonly", "no")
	if err := p.Start(); err != nil {
		return "", err
	}
	return p.addr, poll("ping "+p.addr, p.ping)
}

// Prefix returns a key prefix unique to t ("test:<random>:") and deletes
// every key under it from rdb when t's cleanup runs, so tests can share the
// server named by REDIS_URL without leaving data behind.
func Prefix(t testing.TB, rdb redis.UniversalClient) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("redistest: %v", err)
	}
	prefix := "test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		if err := deletePrefix(context.Background(), rdb, prefix); err != nil {
			t.Logf("redistest: cleaning up %s*: %v", prefix, err)
		}
	})
	return prefix
}

// deletePrefix deletes every key under prefix: on each primary of a
// cluster, one key per UNLINK (keys of different hash slots cannot share a
// command).
func deletePrefix(ctx context.Context, rdb redis.UniversalClient, prefix string) error {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			return deleteOn(ctx, node, prefix)
		})
	}
	return deleteOn(ctx, rdb, prefix)
}

func deleteOn(ctx context.Context, rdb redis.UniversalClient, prefix string) error {
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil || len(keys) == 0 {
		return err
	}
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Unlink(ctx, k)
		}
		return nil
	})
	return err
}
