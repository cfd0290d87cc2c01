package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/tokencache/redisstore/redistest"
	"github.com/redis/go-redis/v9"
)

// TestRedisTokenCache runs the example with REDIS_URL and CONSENTRY_CACHE_KEY, signs
// a user in over plain HTTP, and checks that the user's tokens are in Redis, encrypted.
func TestRedisTokenCache(t *testing.T) {
	redisURL := redistest.URL(t) // skips, saying why, without Redis
	key := make([]byte, 32)
	rand.Read(key)
	a := startExampleEnv(t, []string{"REDIS_URL=" + redisURL, "CONSENTRY_CACHE_KEY=" + base64.StdEncoding.EncodeToString(key)})
	if !strings.Contains(a.output(), "Tokens     in Redis") {
		t.Errorf("banner does not say tokens are in Redis:\n%s", a.output())
	}

	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	const megan = "a1d3e4f5-0003-4c00-8000-00000000c0a3"
	partition := "tokencache:" + megan + "." + contosoID
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdb.Del(ctx, partition)
	t.Cleanup(func() { rdb.Del(context.Background(), partition) })

	page := signInOverHTTP(t, ctx, a, "/profile", "megan@contoso.example")
	if !strings.Contains(page, "Megan Bowen") || !strings.Contains(page, `id="page-profile"`) {
		t.Fatalf("after sign-in, /profile is not Megan's profile:\n%s", page)
	}
	blob, err := rdb.Get(ctx, partition).Bytes()
	if err != nil {
		t.Fatalf("Megan's tokens are not in Redis at %s: %v", partition, err)
	}
	for _, plain := range []string{"access_token", "refresh_token", "AccessToken", "RefreshToken", "secret", megan} {
		if bytes.Contains(blob, []byte(plain)) {
			t.Errorf("the Redis value holds %q in plain text: tokens are not encrypted at rest", plain)
		}
	}
}
