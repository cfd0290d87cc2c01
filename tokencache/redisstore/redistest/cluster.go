package redistest

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// ClusterNodeTimeout is the cluster-node-timeout of a Cluster, in
// milliseconds: a primary that does not answer for this long is failed over
// to its replica. Production clusters keep Redis's default (15000) or a few
// seconds; a test wants the failover quickly.
const ClusterNodeTimeout = 1000

// Cluster is a Redis Cluster of three primaries and three replicas (one per
// primary) running on loopback, started by StartCluster and stopped when
// the test that started it ends. Its nodes use Persistence.
type Cluster struct {
	group
}

// StartCluster starts six redis-server nodes with --cluster-enabled yes on
// free loopback ports in t.TempDir(), joins them with
// redis-cli --cluster create --cluster-replicas 1, and waits until every node
// reports cluster_state:ok and every replica is in sync. Without
// redis-server or redis-cli in PATH it skips t.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := binary(t)
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redistest: redis-cli is not in PATH; install it (Debian: apt-get install redis-tools) to run the Redis Cluster tests")
	}
	root := t.TempDir()
	c := &Cluster{group{t: t}}
	args := append([]string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
		"--cluster-node-timeout", fmt.Sprint(ClusterNodeTimeout), "--cluster-require-full-coverage", "no"},
		append(fastSync, Persistence...)...)
	for i := range 6 {
		p := newProcess(t, bin, root, fmt.Sprintf("node%d", i), withBusPort(t, args)...)
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		c.procs = append(c.procs, p)
	}
	for _, p := range c.procs {
		if err := poll("ping "+p.addr, p.ping); err != nil {
			t.Fatal(err)
		}
	}
	create := append([]string{"--cluster", "create"}, c.Addrs()...)
	create = append(create, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command(cli, create...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitHealthy()
	return c
}

// withBusPort returns args with a cluster bus port of its own. Redis's
// default, the node's port plus 10000, does not exist for a port above 55535
// (common outside Linux, where free ports are 49152-65535) and may be taken.
func withBusPort(t testing.TB, args []string) []string {
	t.Helper()
	bus, err := freePort()
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	return append(slices.Clone(args), "--cluster-port", strconv.Itoa(bus))
}

// Options returns options for a go-redis cluster client of c.
func (c *Cluster) Options() *redis.ClusterOptions {
	return &redis.ClusterOptions{Addrs: c.Addrs()}
}

// Client returns a cluster client of c, closed when t's cleanup runs.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	rdb := redis.NewClusterClient(c.Options())
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// PrimaryOf returns the address of the primary serving key's hash slot, as
// the first running node that answers sees it.
func (c *Cluster) PrimaryOf(key string) string {
	c.t.Helper()
	for _, p := range c.running() {
		if addr := primaryOf(context.Background(), p.rdb, key); addr != "" {
			return addr
		}
	}
	c.t.Fatalf("redistest: no running node knows the primary of %q", key)
	return ""
}

// WaitPrimaryChanged waits until a live node reports a primary other than
// old for key's slot (the failover of old is done) and returns it.
func (c *Cluster) WaitPrimaryChanged(key, old string) string {
	c.t.Helper()
	var primary string
	err := poll("failover of "+old, func(ctx context.Context) error {
		for _, p := range c.running() {
			if got := primaryOf(ctx, p.rdb, key); got != "" && got != old {
				primary = got
				return nil
			}
		}
		return fmt.Errorf("no live node names a primary other than %s", old)
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return primary
}

// WaitHealthy waits until every running node reports cluster_state:ok and
// knows every node, each primary has a replica and each replica's link to
// its primary is up.
func (c *Cluster) WaitHealthy() {
	c.t.Helper()
	for _, p := range c.running() {
		if err := poll("cluster healthy at "+p.addr, c.nodeHealthy(p.rdb)); err != nil {
			c.t.Fatal(err)
		}
	}
}

func (c *Cluster) nodeHealthy(rdb *redis.Client) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		info, err := rdb.ClusterInfo(ctx).Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d", len(c.procs))) {
			return fmt.Errorf("CLUSTER INFO: %s", info)
		}
		return replicating(ctx, rdb)
	}
}

// primaryOf returns the primary of key's slot as rdb's node sees it, or "".
func primaryOf(ctx context.Context, rdb *redis.Client, key string) string {
	slot, err := rdb.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return ""
	}
	shards, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		return ""
	}
	for _, s := range shards {
		if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
			return s.Nodes[0].Addr
		}
	}
	return ""
}
