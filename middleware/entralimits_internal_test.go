package middleware

import (
	"context"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// TestLongCallsLeaveHalfThePool: with two clients, a second redemption
// waits for the first instead of taking the last client, which a cached
// token's read then gets.
func TestLongCallsLeaveHalfThePool(t *testing.T) {
	p := newPool(2, func() (confidential.Client, error) { return confidential.Client{}, nil }) // half: 1 long call
	var entered atomic.Int32
	hung := make(chan struct{})
	done := make(chan struct{}, 2)
	redeem := func() {
		_ = p.withShare(context.Background(), 0, func(context.Context, confidential.Client) error {
			entered.Add(1)
			<-hung
			return nil
		})
		done <- struct{}{}
	}
	go redeem()
	for entered.Load() < 1 {
		runtime.Gosched()
	}
	go redeem()
	for entered.Load() < 2 && p.waiting.Load() < 1 {
		runtime.Gosched()
	}
	if entered.Load() == 2 {
		close(hung)
		t.Fatal("two hung redemptions hold both clients")
	}
	if err := p.with(context.Background(), func(confidential.Client) error { return nil }); err != nil {
		t.Fatal(err)
	}
	close(hung)
	<-done
	<-done
}

// idleCounter is a transport counting CloseIdleConnections calls.
type idleCounter struct {
	http.RoundTripper
	closed int
}

func (c *idleCounter) CloseIdleConnections() { c.closed++ }

// TestCappedClientClosesIdleConnections: Close's CloseIdleConnections on
// Config.HTTPClient still reaches its transport through the answer cap.
func TestCappedClientClosesIdleConnections(t *testing.T) {
	base := &idleCounter{}
	limitClient(&http.Client{Transport: base}, maxEntraResponse).CloseIdleConnections()
	if base.closed != 1 {
		t.Fatalf("the transport's idle connections were closed %d times, want 1", base.closed)
	}
}
