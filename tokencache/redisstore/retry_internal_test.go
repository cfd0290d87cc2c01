package redisstore

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// failFirst is a go-redis hook that answers the first n commands (other
// than the connection's handshake) with err.
type failFirst struct {
	n     int
	err   error
	calls int
}

func (h *failFirst) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *failFirst) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *failFirst) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := cmd.Name(); n == "hello" || n == "client" {
			return next(ctx, cmd)
		}
		h.calls++
		if h.calls <= h.n {
			cmd.SetErr(h.err)
			return h.err
		}
		return next(ctx, cmd)
	}
}

func TestRetriesWhileAFailoverLasts(t *testing.T) {
	replies := []string{
		"CLUSTERDOWN The cluster is down",
		"TRYAGAIN Multiple keys request during rehashing of slot",
		"MOVED 3999 127.0.0.1:6381",
		"READONLY You can't write against a read only replica.",
		"LOADING Redis is loading the dataset in memory",
		"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
		"NOREPLICAS Not enough good replicas to write.",
	}
	for _, r := range replies {
		t.Run(strings.Fields(r)[0], func(t *testing.T) {
			mr := miniredis.RunT(t)
			rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
			t.Cleanup(func() { _ = rdb.Close() })
			hook := &failFirst{n: 2, err: reply(r)}
			rdb.AddHook(hook)
			s := New(rdb)

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := s.Set(ctx, "k", []byte("v"), 0); err != nil || hook.calls != 3 {
				t.Fatalf("Set within a deadline = %v after %d attempts; want nil after 3", err, hook.calls)
			}
			hook.calls = 0
			err := s.Set(context.Background(), "k", []byte("v"), 0)
			if !errors.Is(err, ErrUnavailable) || hook.calls != 1 {
				t.Fatalf("Set without a deadline = %v after %d attempts; want ErrUnavailable after 1", err, hook.calls)
			}
		})
	}
}

func TestNoRetryOfAnAnswer(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	hook := &failFirst{n: 2, err: reply("WRONGTYPE Operation against a key holding the wrong kind of value")}
	rdb.AddHook(hook)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _, err := New(rdb).Get(ctx, "k")
	if err == nil || errors.Is(err, ErrUnavailable) || hook.calls != 1 {
		t.Fatalf("Get answered WRONGTYPE = %v after %d attempts; want that error after 1", err, hook.calls)
	}
}

func TestSingleNodeDownFailsAtOnce(t *testing.T) {
	mr := miniredis.RunT(t)
	addr := mr.Addr()
	mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	hook := &failFirst{}
	rdb.AddHook(hook)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, _, err := New(rdb).Get(ctx, "k"); !errors.Is(err, ErrUnavailable) || hook.calls != 1 {
		t.Fatalf("Get with the only node down = %v after %d attempts; want ErrUnavailable after 1", err, hook.calls)
	}
}

// TestFailoverClientsAreRecognized: a connection refused is tried again on
// the clients that follow a failover (Cluster, Sentinel, however they were
// made) and not on a single node or a Ring. The Sentinel client is told by
// the address go-redis gives it; this fails if go-redis renames it.
func TestFailoverClientsAreRecognized(t *testing.T) {
	nowhere := []string{"127.0.0.1:1"}
	clients := []struct {
		name string
		rdb  redis.UniversalClient
		want bool
	}{
		{"single node", redis.NewClient(&redis.Options{Addr: nowhere[0]}), false},
		{"universal single node", redis.NewUniversalClient(&redis.UniversalOptions{Addrs: nowhere}), false},
		{"ring", redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": nowhere[0]}}), false},
		{"cluster", redis.NewClusterClient(&redis.ClusterOptions{Addrs: nowhere}), true},
		{"sentinel", redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: nowhere}), true},
		{"universal sentinel", redis.NewUniversalClient(&redis.UniversalOptions{MasterName: "m", Addrs: nowhere}), true},
		{"sentinel cluster", redis.NewFailoverClusterClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: nowhere}), true},
	}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, c := range clients {
		t.Cleanup(func() { _ = c.rdb.Close() })
		if got := New(c.rdb).retryable(refused); got != c.want {
			t.Errorf("%s: connection refused tried again = %v; want %v", c.name, got, c.want)
		}
	}
}
