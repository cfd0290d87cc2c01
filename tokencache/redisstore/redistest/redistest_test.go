package redistest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// outcome is a testing.TB that records how the code under test ended t
// instead of ending the real test.
type outcome struct {
	testing.TB
	skipped, failed string
}

func (o *outcome) Helper() {}
func (o *outcome) Skip(args ...any) {
	o.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}
func (o *outcome) Skipf(format string, args ...any) {
	o.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (o *outcome) Fatal(args ...any) {
	o.failed = fmt.Sprint(args...)
	runtime.Goexit()
}
func (o *outcome) Fatalf(format string, args ...any) {
	o.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls fn with o in a goroutine of its own (Skip and Fatal end it).
func (o *outcome) run(fn func(testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(o)
	}()
	<-done
}

// TestURLFailsWhenRedisServerDoesNotStart: a redis-server in PATH that
// exits at once fails the test, with its log, as soon as it has exited: a
// broken installation must not pass as a skipped real-Redis suite.
func TestURLFailsWhenRedisServerDoesNotStart(t *testing.T) {
	dir := t.TempDir()
	fake := "#!/bin/sh\necho 'cannot bind: the fake refuses' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "redis-server"), []byte(fake), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	t.Setenv("REDIS_URL", "")
	o := &outcome{TB: t}
	o.run(func(tb testing.TB) { URL(tb) })
	if o.skipped != "" || !strings.Contains(o.failed, "the fake refuses") {
		t.Fatalf("URL with a redis-server that exits: skipped %q, failed %q; want a failure with its log", o.skipped, o.failed)
	}
}

// TestURLSkipsWithoutRedisServer: without REDIS_URL and redis-server, the
// test is skipped, saying why.
func TestURLSkipsWithoutRedisServer(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("REDIS_URL", "")
	o := &outcome{TB: t}
	o.run(func(tb testing.TB) { URL(tb) })
	if !strings.Contains(o.skipped, "redis-server") || o.failed != "" {
		t.Fatalf("URL without redis-server: skipped %q, failed %q; want a skip naming redis-server", o.skipped, o.failed)
	}
}
