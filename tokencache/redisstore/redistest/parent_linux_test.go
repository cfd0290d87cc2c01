package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// TestServerDiesWithTestProcess: a test process that dies without running
// its cleanups (here os.Exit, as a -timeout panic or a kill would) takes the
// redis-server it started with it.
func TestServerDiesWithTestProcess(t *testing.T) {
	if os.Getenv("REDISTEST_ABANDON") == "1" {
		abandonServer(t)
		return
	}
	binary(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithTestProcess$")
	cmd.Env = append(os.Environ(), "REDISTEST_ABANDON=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("test process that starts a server: %v\n%s", err, out)
	}
	var addr string
	var pid int
	if _, err := fmt.Sscanf(lastLine(string(out)), "server %s %d", &addr, &pid); err != nil {
		t.Fatalf("test process that starts a server printed %q: %v", out, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) }) // only if it outlived its parent
	err = poll("redis-server at "+addr+" gone", func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if errors.Is(err, syscall.ECONNREFUSED) {
			return nil
		}
		if err != nil {
			return err
		}
		c.Close()
		return fmt.Errorf("%s still accepts connections", addr)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// abandonServer starts a server, prints its address and pid, and exits
// without running t's cleanups.
func abandonServer(t *testing.T) {
	p := newProcess(t, binary(t), t.TempDir(), "redis", "--save", "", "--appendonly", "no")
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if err := poll("ping "+p.addr, p.ping); err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(w, "\nserver %s %d\n", p.addr, p.cmd.Process.Pid)
	w.Flush()
	os.Exit(0)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
