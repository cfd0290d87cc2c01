package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/consentry/consentry/tokencache/internal/cachebench"
	"github.com/consentry/consentry/tokencache/redisstore"
	"github.com/consentry/consentry/tokencache/redisstore/redistest"
	"github.com/redis/go-redis/v9"
)

// pipelined fills keys with one pipeline (one round trip) per batch.
func pipelined(rdb redis.UniversalClient, prefix string) cachebench.Filler {
	return func(ctx context.Context, keys []string, value []byte) error {
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.Set(ctx, prefix+k, value, 90*24*time.Hour)
			}
			return nil
		})
		return err
	}
}

// BenchmarkRoundMiniredis: one user's Replace+Export on miniredis holding
// 10, 10,000 and 100,000 users.
func BenchmarkRoundMiniredis(b *testing.B) {
	mr := miniredis.RunT(b)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	cachebench.Round(b, redisstore.New(rdb), pipelined(rdb, redisstore.DefaultPrefix))
}

// BenchmarkRoundRedis: the same on a real Redis server (redistest.URL).
func BenchmarkRoundRedis(b *testing.B) {
	rdb := redistest.NewClient(b)
	prefix := redistest.Prefix(b, rdb)
	cachebench.Round(b, redisstore.New(rdb, redisstore.WithPrefix(prefix)), pipelined(rdb, prefix))
}
