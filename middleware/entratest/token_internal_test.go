package entratest

import (
	"context"
	"testing"
	"time"
)

// TestTokenLatencyHonoursCancellation: SetTokenLatency's wait ends when the
// request's context does, so a client that gives up (or Close) is not held
// for the whole latency.
func TestTokenLatencyHonoursCancellation(t *testing.T) {
	s := &Server{latency: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan *entraError, 1)
	go func() { done <- s.injectFault(ctx) }()
	select {
	case e := <-done:
		if e != nil {
			t.Errorf("injectFault = %v, want nil (no failure injected)", e)
		}
	case <-time.After(time.Minute): // only reached if the wait ignores ctx
		t.Fatal("injectFault waited for the latency after its context ended")
	}
}
