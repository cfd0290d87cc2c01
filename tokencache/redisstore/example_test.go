package redisstore_test

import (
	"encoding/base64"
	"log"
	"os"
	"time"

	"github.com/consentry/consentry/tokencache"
	"github.com/consentry/consentry/tokencache/redisstore"
	"github.com/redis/go-redis/v9"
)

// A token cache shared by every replica through Redis (a single node here;
// Sentinel or Cluster work the same through UniversalOptions). Redis requires
// an encryption key.
func ExampleNew() {
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"localhost:6379"}})
	defer rdb.Close()
	key, err := base64.StdEncoding.DecodeString(os.Getenv("TOKENCACHE_KEY")) // base64 of 32 random bytes (openssl rand -base64 32)
	if err != nil {
		log.Fatal(err)
	}
	c, err := tokencache.New(redisstore.New(rdb, redisstore.WithPrefix("myapp:tokens:")),
		tokencache.WithKey("2026-01", key))
	if err != nil {
		log.Fatal(err)
	}
	_ = c // confidential.New(..., confidential.WithCache(c))
}

// A token cache on a Redis Cluster whose writes survive a primary's crash:
// each write returns once a replica has acknowledged it.
func ExampleWithWait() {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"redis-0:6379", "redis-1:6379", "redis-2:6379"}})
	defer rdb.Close()
	store := redisstore.New(rdb, redisstore.WithPrefix("myapp:tokens:"), redisstore.WithWait(1, 500*time.Millisecond))
	key, err := base64.StdEncoding.DecodeString(os.Getenv("TOKENCACHE_KEY")) // base64 of 32 random bytes
	if err != nil {
		log.Fatal(err)
	}
	c, err := tokencache.New(store, tokencache.WithKey("2026-01", key))
	if err != nil {
		log.Fatal(err)
	}
	_ = c // confidential.New(..., confidential.WithCache(c)); middleware.Config{Cache: c, FlowStore: store}
}
