package redistest

import (
	"fmt"
	"net"
	"testing"
)

// TestClusterNodeOnHighPort: a cluster node on a port above 55535, where
// Redis's default bus port (port + 10000) does not exist, starts.
func TestClusterNodeOnHighPort(t *testing.T) {
	bin := binary(t)
	port := 0
	for p := 65535; p > 55535 && port == 0; p-- {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			port = p
			l.Close()
		}
	}
	if port == 0 {
		t.Fatal("no free loopback port above 55535")
	}
	args := withBusPort(t, []string{"--cluster-enabled", "yes", "--save", "", "--appendonly", "no"})
	p := newProcessOn(t, bin, t.TempDir(), "node", port, args...)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := poll("ping "+p.addr, p.ping); err != nil {
		t.Fatal(err)
	}
}
