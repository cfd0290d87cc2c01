package middleware

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"time"

	"github.com/consentry/consentry/middleware/internal/entraerr"
	"github.com/consentry/consentry/tokencache"
)

// Retry of silent token acquisition and of AppToken. A silent acquisition (a
// cache read, else a refresh-token redemption) is idempotent: Entra keeps an
// old refresh token valid after it issued a new one, so asking again after a
// 5xx or a timeout cannot lose anything. A client-credentials request
// (AppToken) holds no single-use grant and is idempotent too. The
// authorization code redemption in the callback is not retried: a code is
// single use.
const (
	// refreshAttempts is how many times a silent token acquisition or an
	// AppToken request is tried when Entra answers 5xx or does not answer in time.
	refreshAttempts = 3
	// attemptTimeout bounds one attempt.
	attemptTimeout = 10 * time.Second
	// retryBase and retryMax bound the backoff between attempts: 100ms, then
	// 400ms (each with up to 25% jitter), never past the caller's deadline.
	retryBase = 100 * time.Millisecond
	retryMax  = 400 * time.Millisecond
)

// retryPolicy runs an idempotent call with bounded, jittered exponential backoff.
// Its zero value uses the defaults above; tests replace sleep so that they
// never wait for real.
type retryPolicy struct {
	attempts int
	timeout  time.Duration
	sleep    func(ctx context.Context, d time.Duration) error
}

// do calls fn until it succeeds, fails with an error that a retry cannot fix,
// or the attempts or ctx run out. fn is handed the timeout of one attempt and
// starts it once it holds what it waits for (a pooled MSAL client): a wait for
// a client is not the attempt's, so a busy pool under CPU load cannot cut an
// attempt off and send the same refresh to Entra twice.
func (p *retryPolicy) do(ctx context.Context, fn func(ctx context.Context, timeout time.Duration) error) error {
	attempts, timeout, sleep := p.attempts, p.timeout, p.sleep
	if attempts <= 0 {
		attempts = refreshAttempts
	}
	if timeout <= 0 {
		timeout = attemptTimeout
	}
	if sleep == nil {
		sleep = sleepCtx
	}
	var err error
	for i := range attempts {
		if i > 0 {
			if serr := sleep(ctx, backoff(i)); serr != nil {
				return errors.Join(err, serr)
			}
		}
		err = fn(ctx, timeout)
		if err == nil || ctx.Err() != nil || !retryable(err) {
			return err
		}
	}
	return err
}

// backoff returns the wait before attempt i (i >= 1): retryBase * 4^(i-1),
// capped at retryMax, minus up to 25% jitter so that replicas spread out.
func backoff(i int) time.Duration {
	d := retryBase
	for ; i > 1 && d < retryMax; i-- {
		d *= 4
	}
	d = min(d, retryMax)
	return d - time.Duration(rand.Int64N(int64(d/4)+1))
}

// retryable reports whether err is an Entra fault that may pass: a 5xx answer
// or a timeout on the way to the token endpoint. A token store outage is not
// (it is not Entra's, and the store client has its own timeout), nor is any
// answer that needs the user.
func retryable(err error) bool {
	if errors.Is(err, tokencache.ErrUnavailable) || errors.Is(err, context.Canceled) {
		return false
	}
	if e, ok := entraerr.FromCallErr(err); ok {
		return e.Status >= 500
	}
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// sleepCtx waits d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
