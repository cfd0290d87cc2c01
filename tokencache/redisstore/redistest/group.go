package redistest

import "testing"

// group is the processes of a Cluster or a Sentinel setup.
type group struct {
	t     testing.TB
	procs []*process
}

// Addrs returns the host:port of every Redis server of the group, killed
// ones included (not the sentinels).
func (g *group) Addrs() []string {
	var addrs []string
	for _, p := range g.procs {
		addrs = append(addrs, p.addr)
	}
	return addrs
}

// Kill kills the Redis server at addr at once (SIGKILL, as a crash).
func (g *group) Kill(addr string) {
	g.t.Helper()
	if err := g.proc(addr).Kill(); err != nil {
		g.t.Fatalf("redistest: kill %s: %v", addr, err)
	}
}

// Restart starts the killed Redis server at addr again, on the same port
// and with its files (its append-only file is loaded). A failed-over
// primary comes back as a replica of the one that replaced it.
func (g *group) Restart(addr string) {
	g.t.Helper()
	if err := g.proc(addr).Start(); err != nil {
		g.t.Fatal(err)
	}
}

func (g *group) proc(addr string) *process {
	for _, p := range g.procs {
		if p.addr == addr {
			return p
		}
	}
	g.t.Fatalf("redistest: %s is not a server of this group", addr)
	return nil
}

// running returns the processes that are not killed.
func (g *group) running() []*process {
	var live []*process
	for _, p := range g.procs {
		if p.cmd != nil {
			live = append(live, p)
		}
	}
	return live
}
