package redistest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startTimeout bounds how long URL waits for a started redis-server to answer.
const startTimeout = 10 * time.Second

// URL returns the URL of a real Redis server for t (redis://host:port/db).
// If REDIS_URL is set it is returned as is, and the server is shared: use
// per-test key prefixes. Otherwise URL starts redis-server from PATH on a free
// 127.0.0.1 port without persistence (--save "" --appendonly no), waits until
// it answers PING and stops it when t's cleanup runs. If neither is possible
// it calls t.Skip with the reason.
func URL(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redistest: REDIS_URL is not set and redis-server is not in PATH; set REDIS_URL or install redis-server to run the real-Redis tests")
	}
	addr, err := start(t, bin)
	if err != nil {
		t.Skipf("redistest: could not start %s: %v", bin, err)
	}
	return "redis://" + addr + "/0"
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

func start(t testing.TB, bin string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "no")
	if err := cmd.Start(); err != nil {
		return "", err
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return addr, waitReady(addr)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls addr until it answers PING with PONG.
func waitReady(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if ping(addr) == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis-server at %s did not answer PING within %v", addr, startTimeout)
		case <-tick.C:
		}
	}
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
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

func deletePrefix(ctx context.Context, rdb redis.UniversalClient, prefix string) error {
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil || len(keys) == 0 {
		return err
	}
	for lo := 0; lo < len(keys); lo += 1000 {
		if err := rdb.Unlink(ctx, keys[lo:min(lo+1000, len(keys))]...).Err(); err != nil {
			return err
		}
	}
	return nil
}
