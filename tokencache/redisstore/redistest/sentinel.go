package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name under which a Sentinel setup's sentinels monitor
// its primary.
const MasterName = "consentry"

// DownAfterMilliseconds is the sentinels' down-after-milliseconds: a primary
// that does not answer for this long is failed over. Production setups keep
// a few seconds; a test wants the failover quickly.
const DownAfterMilliseconds = 1000

// Sentinel is a Sentinel-managed Redis on loopback: one primary, one replica
// and three sentinels (quorum 2), started by StartSentinel and stopped when
// the test that started it ends. Its servers use Persistence.
type Sentinel struct {
	group
	sentinels []*process
	clients   []*redis.SentinelClient // one per sentinel
}

// StartSentinel starts a primary and its replica (redis-server with
// Persistence) and three sentinels (redis-server --sentinel) on free
// loopback ports in t.TempDir(), and waits until the replica is in sync and
// every sentinel knows the primary, the replica and the other sentinels.
// Without redis-server in PATH it skips t.
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	bin := binary(t)
	root := t.TempDir()
	s := &Sentinel{group: group{t: t}}
	args := append(fastSync, Persistence...)
	primary := newProcess(t, bin, root, "primary", args...)
	host, port, _ := net.SplitHostPort(primary.addr)
	replica := newProcess(t, bin, root, "replica", append([]string{"--replicaof", host, port}, args...)...)
	s.procs = []*process{primary, replica}
	for i := range 3 {
		name := fmt.Sprintf("sentinel%d", i)
		conf := filepath.Join(root, name, "sentinel.conf")
		p := newProcess(t, bin, root, name, conf, "--sentinel")
		monitor := fmt.Sprintf("sentinel monitor %[1]s %[2]s %[3]s 2\nsentinel down-after-milliseconds %[1]s %[4]d\n"+
			"sentinel failover-timeout %[1]s %[5]d\n", MasterName, host, port, DownAfterMilliseconds, 4*DownAfterMilliseconds)
		if err := os.WriteFile(conf, []byte(monitor), 0o600); err != nil {
			t.Fatalf("redistest: %v", err)
		}
		s.sentinels = append(s.sentinels, p)
		sc := redis.NewSentinelClient(&redis.Options{Addr: p.addr, MaxRetries: -1, DialTimeout: time.Second})
		t.Cleanup(func() { _ = sc.Close() })
		s.clients = append(s.clients, sc)
	}
	s.start(s.procs)
	s.waitReplicating() // so the sentinels' first INFO of the primary finds its replica
	s.start(s.sentinels)
	for _, p := range s.sentinels {
		// Redis 7's SENTINEL DEBUG shortens the sentinels' 10 s INFO and 2 s hello
		// periods, so that they see the replica, each other and a restarted server
		// quickly.
		if err := poll("SENTINEL DEBUG at "+p.addr, func(ctx context.Context) error {
			if err := p.ping(ctx); err != nil { // ends the wait, with its log, if the sentinel exited
				return err
			}
			return p.rdb.Do(ctx, "SENTINEL", "DEBUG", "info-period", 100, "publish-period", 200).Err()
		}); err != nil {
			t.Fatal(err)
		}
	}
	s.WaitHealthy()
	return s
}

func (s *Sentinel) start(procs []*process) {
	for _, p := range procs {
		if err := p.Start(); err != nil {
			s.t.Fatal(err)
		}
	}
}

// SentinelAddrs returns the host:port of the three sentinels.
func (s *Sentinel) SentinelAddrs() []string {
	addrs := make([]string, len(s.sentinels))
	for i, p := range s.sentinels {
		addrs[i] = p.addr
	}
	return addrs
}

// Options returns options for a go-redis failover client of s.
func (s *Sentinel) Options() *redis.FailoverOptions {
	return &redis.FailoverOptions{MasterName: MasterName, SentinelAddrs: s.SentinelAddrs()}
}

// Client returns a failover client of s, closed when t's cleanup runs.
func (s *Sentinel) Client(t testing.TB) *redis.Client {
	rdb := redis.NewFailoverClient(s.Options())
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Primary returns the address of the primary, as the first sentinel reports
// it (SENTINEL get-master-addr-by-name).
func (s *Sentinel) Primary() string {
	s.t.Helper()
	addr, err := s.primaryAt(context.Background(), 0)
	if err != nil {
		s.t.Fatalf("redistest: %v", err)
	}
	return addr
}

// primaryAt returns the primary that sentinel i names.
func (s *Sentinel) primaryAt(ctx context.Context, i int) (string, error) {
	hp, err := s.clients[i].GetMasterAddrByName(ctx, MasterName).Result()
	if err != nil {
		return "", fmt.Errorf("sentinel %s: get-master-addr-by-name: %w", s.sentinels[i].addr, err)
	}
	return net.JoinHostPort(hp[0], hp[1]), nil
}

// WaitPrimaryChanged waits until every sentinel names a primary other than
// old and that server reports the role of primary, and returns its address.
func (s *Sentinel) WaitPrimaryChanged(old string) string {
	s.t.Helper()
	var primary string
	err := poll("failover of "+old, func(ctx context.Context) error {
		primary = ""
		for i, p := range s.sentinels {
			addr, err := s.primaryAt(ctx, i)
			if err != nil {
				return err
			}
			if addr == old || primary != "" && addr != primary {
				return fmt.Errorf("sentinel %s names %s", p.addr, addr)
			}
			primary = addr
		}
		role, err := s.proc(primary).rdb.Do(ctx, "ROLE").Slice()
		if err != nil || len(role) == 0 || role[0] != "master" {
			return fmt.Errorf("%s: ROLE %v, %v", primary, role, err)
		}
		return nil
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return primary
}

// WaitHealthy waits until the running servers replicate (a primary with a
// connected replica, a replica with its link up) and every sentinel knows
// the primary, its replica and the two other sentinels.
func (s *Sentinel) WaitHealthy() {
	s.t.Helper()
	s.waitReplicating()
	for i, p := range s.sentinels {
		if err := poll("sentinel "+p.addr+" ready", s.sentinelReady(i)); err != nil {
			s.t.Fatal(err)
		}
	}
}

func (s *Sentinel) waitReplicating() {
	s.t.Helper()
	for _, p := range s.running() {
		if err := poll("replication at "+p.addr, func(ctx context.Context) error { return replicating(ctx, p.rdb) }); err != nil {
			s.t.Fatal(err)
		}
	}
}

func (s *Sentinel) sentinelReady(i int) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		m, err := s.clients[i].Master(ctx, MasterName).Result()
		if err != nil {
			return err
		}
		if m["num-other-sentinels"] != "2" || m["num-slaves"] != fmt.Sprint(len(s.procs)-1) || m["flags"] != "master" {
			return fmt.Errorf("SENTINEL MASTER %s: %v", MasterName, m)
		}
		return nil
	}
}
