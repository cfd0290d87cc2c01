package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/consentry/consentry/tokencache"
)

func callErr(status int) error {
	return fmt.Errorf("msal: %w", msalerrors.CallErr{Resp: &http.Response{StatusCode: status,
		Body: io.NopCloser(strings.NewReader(`{"error":"temporarily_unavailable"}`))}})
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

// TestRetryPolicy: which errors are tried again, and how often.
func TestRetryPolicy(t *testing.T) {
	cases := []struct {
		name  string
		err   error
		calls int
	}{
		{"success", nil, 1},
		{"Entra 500", callErr(500), 3},
		{"Entra 503", callErr(503), 3},
		{"Entra 400 (needs the user or the app's fix)", callErr(400), 1},
		{"Entra 429", callErr(429), 1},
		{"deadline", fmt.Errorf("post: %w", context.DeadlineExceeded), 3},
		{"net timeout", &net.OpError{Op: "read", Err: timeoutErr{}}, 3},
		{"token store down", fmt.Errorf("load: %w", tokencache.ErrUnavailable), 1},
		{"canceled", context.Canceled, 1},
		{"no token found", errors.New("no token found"), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var waits []time.Duration
			p := retryPolicy{sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
			calls := 0
			err := p.do(context.Background(), func(context.Context, time.Duration) error { calls++; return c.err })
			if calls != c.calls || len(waits) != c.calls-1 || !errors.Is(err, c.err) {
				t.Errorf("%d calls, %d waits, err %v; want %d calls, err %v", calls, len(waits), err, c.calls, c.err)
			}
		})
	}
}

// TestRetryStopsWithContext: a caller's context ending during a backoff ends the retries.
func TestRetryStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := retryPolicy{sleep: func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }}
	calls := 0
	err := p.do(ctx, func(context.Context, time.Duration) error { calls++; return callErr(503) })
	if calls != 1 || !errors.Is(err, context.Canceled) {
		t.Errorf("%d calls, err %v; want 1 call and context.Canceled", calls, err)
	}
}

// TestRetryAttemptTimerStartsWithClient: the wait for a pooled MSAL client is
// not part of an attempt's timeout, so a busy pool cannot cut an attempt off
// and send the same refresh to Entra again.
func TestRetryAttemptTimerStartsWithClient(t *testing.T) {
	pool := &clientPool{idle: make(chan confidential.Client, 1)}
	p := retryPolicy{timeout: time.Nanosecond, sleep: func(context.Context, time.Duration) error { return nil }}
	calls := 0
	done := make(chan error, 1)
	go func() {
		done <- p.do(context.Background(), func(ctx context.Context, timeout time.Duration) error {
			return pool.withTimeout(ctx, timeout, func(context.Context, confidential.Client) error { calls++; return nil })
		})
	}()
	select { // every client is busy: the call must wait for one, not time out
	case err := <-done:
		t.Fatalf("returned %v while no client was free; want it to wait for one", err)
	case <-time.After(50 * time.Millisecond):
	}
	pool.idle <- confidential.Client{}
	if err := <-done; err != nil || calls != 1 {
		t.Errorf("err %v after %d calls; want nil after 1", err, calls)
	}
}
