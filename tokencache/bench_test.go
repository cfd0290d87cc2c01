package tokencache_test

import (
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/consentry/consentry/tokencache"
	"github.com/consentry/consentry/tokencache/internal/cachebench"
	"github.com/consentry/consentry/tokencache/redisstore"
	"github.com/consentry/consentry/tokencache/redisstore/redistest"
	"github.com/redis/go-redis/v9"
)

// BenchmarkRoundMemory: one user's Replace+Export on a MemoryStore holding
// 10, 10,000 and 100,000 users (bound raised to 1 GiB so none is evicted).
func BenchmarkRoundMemory(b *testing.B) {
	cachebench.Round(b, tokencache.NewMemoryStore(tokencache.WithMaxBytes(1<<30)), nil)
}

// BenchmarkSilentMemory: one user's access token read by MSAL's
// AcquireTokenSilent and by Cache.AccessToken, on a MemoryStore.
func BenchmarkSilentMemory(b *testing.B) {
	cachebench.Silent(b, tokencache.NewMemoryStore())
}

// BenchmarkSilentMiniredis: the same on miniredis (one GET per read).
func BenchmarkSilentMiniredis(b *testing.B) {
	rdb := redis.NewClient(&redis.Options{Addr: miniredis.RunT(b).Addr()})
	b.Cleanup(func() { _ = rdb.Close() })
	cachebench.Silent(b, redisstore.New(rdb))
}

// BenchmarkSilentRedis: the same on a real Redis server (redistest: REDIS_URL
// or a redis-server it starts; skipped without either). The server's CPU is
// not counted.
func BenchmarkSilentRedis(b *testing.B) {
	rdb := redistest.NewClient(b)
	cachebench.Silent(b, redisstore.New(rdb, redisstore.WithPrefix(redistest.Prefix(b, rdb))))
}
