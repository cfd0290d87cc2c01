package redisstore_test

import (
	"log"
	"os"

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
	key := []byte(os.Getenv("TOKENCACHE_KEY")) // 32 bytes, from your secret store
	c, err := tokencache.New(redisstore.New(rdb, redisstore.WithPrefix("myapp:tokens:")),
		tokencache.WithKey("2026-01", key))
	if err != nil {
		log.Fatal(err)
	}
	_ = c // confidential.New(..., confidential.WithCache(c))
}
