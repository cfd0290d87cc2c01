package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// readyTimeout bounds every wait for Redis processes to reach a state: a
// server answering, a cluster formed, a failover done.
const readyTimeout = 30 * time.Second

// Persistence is the persistence configuration of every server that
// StartCluster and StartSentinel start, the one a deployment holding refresh
// tokens should use: an append-only file fsynced every second (a restarted
// node loses at most about a second of writes, which it then gets back from
// the primary it replicates), no RDB snapshots, and a volatile-ttl eviction
// policy (under memory pressure the keys closest to expiry go first: pending
// sign-ins and access-token-only partitions before refresh tokens).
var Persistence = []string{
	"--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
	"--maxmemory", "256mb", "--maxmemory-policy", "volatile-ttl",
}

// fastSync starts a replica's full synchronization at once rather than
// after Redis's default 5 s wait for other replicas to join it.
var fastSync = []string{"--repl-diskless-sync-delay", "0"}

// process is one redis-server (or sentinel) on a loopback port, in its own
// directory, which a test can kill and start again on the same port.
type process struct {
	bin  string
	dir  string
	addr string
	args []string
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
	rdb  *redis.Client // a client of this process alone
}

// binary returns the path of redis-server, or skips t.
func binary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redistest: redis-server is not in PATH; install it (Debian: apt-get install redis-server) to run the Redis Cluster and Sentinel tests")
	}
	return bin
}

// newProcess reserves a free loopback port and a directory under root for a
// process started with args (the port, bind address and directory are added)
// and kills it when t's cleanup runs.
func newProcess(t testing.TB, bin, root, name string, args ...string) *process {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	return newProcessOn(t, bin, root, name, port, args...)
}

// newProcessOn is newProcess on the given port.
func newProcessOn(t testing.TB, bin, root, name string, port int, args ...string) *process {
	t.Helper()
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatalf("redistest: %v", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	p := &process{bin: bin, dir: dir, addr: addr, args: args,
		rdb: redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})}
	t.Cleanup(func() {
		_ = p.rdb.Close()
		_ = p.Kill()
	})
	return p
}

// Start starts the process; it does not wait for it to answer.
func (p *process) Start() error {
	_, port, _ := net.SplitHostPort(p.addr)
	args := append([]string{}, p.args...)
	args = append(args, "--port", port, "--bind", "127.0.0.1", "--dir", p.dir, "--protected-mode", "no")
	cmd := exec.Command(p.bin, args...)
	log, err := os.OpenFile(filepath.Join(p.dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = dieWithParent()
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return fmt.Errorf("redistest: start %s: %w", p.bin, err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		_ = log.Close()
		close(done)
	}(p.done)
	return nil
}

// Kill stops the process at once (SIGKILL, as a crash) and waits for it to
// exit. Killing a stopped process does nothing.
func (p *process) Kill() error {
	if p.cmd == nil {
		return nil
	}
	err := p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p.cmd = nil
	if errors.Is(err, os.ErrProcessDone) {
		err = nil
	}
	return err
}

// ping answers nil once the process answers PING, and a stopError once the
// process has exited.
func (p *process) ping(ctx context.Context) error {
	select {
	case <-p.done:
		return &stopError{fmt.Errorf("%s exited; its log:\n%s", p.bin, p.logTail())}
	default:
	}
	return p.rdb.Ping(ctx).Err()
}

// logTail returns the end of the process's log.
func (p *process) logTail() string {
	b, err := os.ReadFile(filepath.Join(p.dir, "log"))
	if err != nil {
		return err.Error()
	}
	return string(b[max(0, len(b)-2000):])
}

// stopError is a check's error that no further polling can change.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }
func (e *stopError) Unwrap() error { return e.err }

// replicating reports nil once rdb's node is a primary with at least one
// connected replica, or a replica whose link to its primary is up.
func replicating(ctx context.Context, rdb *redis.Client) error {
	info, err := rdb.Info(ctx, "replication").Result()
	if err != nil {
		return err
	}
	if strings.Contains(info, "role:slave") && strings.Contains(info, "master_link_status:up") ||
		strings.Contains(info, "role:master") && !strings.Contains(info, "connected_slaves:0") {
		return nil
	}
	return fmt.Errorf("INFO replication: %s", info)
}

// poll calls check until it returns nil, for at most readyTimeout, and returns
// check's last error if it never does or as soon as it is a stopError. It
// polls state; it never sleeps for a fixed time in place of a check.
func poll(what string, check func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check(ctx)
		var stop *stopError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &stop):
			return fmt.Errorf("redistest: %s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redistest: %s: not reached within %v: %w", what, readyTimeout, err)
		case <-tick.C:
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
