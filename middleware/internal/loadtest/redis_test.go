//go:build load

package loadtest_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a private redis-server on a fixed loopback port that the test
// can stop and start again. It snapshots on shutdown (SIGTERM with a save
// point configured) and loads the snapshot on start, like a graceful restart
// of a production Redis with persistence: nothing is lost.
type redisServer struct {
	bin, dir, addr string
	cmd            *exec.Cmd
}

// startRedis starts a private redis-server for t, or skips t without one. It
// never uses REDIS_URL: a shared server cannot be restarted by a test.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("loadtest: redis-server is not in PATH; install it to run the load test")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s := &redisServer{bin: bin, dir: t.TempDir(), addr: addr}
	if err := s.start(); err != nil {
		t.Fatalf("loadtest: start redis-server: %v", err)
	}
	t.Cleanup(func() {
		if s.cmd != nil {
			_ = s.cmd.Process.Kill()
			_ = s.cmd.Wait()
		}
	})
	return s
}

// start runs redis-server on s.addr and waits until it answers PING.
func (s *redisServer) start() error {
	_, port, _ := net.SplitHostPort(s.addr)
	s.cmd = exec.Command(s.bin, "--port", port, "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "3600 1", "--appendonly", "no", "--protected-mode", "no")
	if err := s.cmd.Start(); err != nil {
		return err
	}
	return waitPing(s.addr, 10*time.Second)
}

// stop shuts redis-server down gracefully (it saves its snapshot first).
func (s *redisServer) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	err := s.cmd.Wait()
	s.cmd = nil
	return err
}

// waitPing polls addr until it answers PING, for at most limit.
func waitPing(addr string, limit time.Duration) error {
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if rdb.Ping(ctx).Err() == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis-server at %s did not answer PING within %v", addr, limit)
		case <-tick.C:
		}
	}
}

// url returns the redis:// URL of s.
func (s *redisServer) url() string { return "redis://" + s.addr + "/0" }
