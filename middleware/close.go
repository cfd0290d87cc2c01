package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
)

// ErrClosed: the Middleware was closed; requests through Require answer 503
// with an error wrapping both ErrClosed and ErrUnavailable, and AppToken,
// Transport and Client fail with such an error.
var ErrClosed = errors.New("middleware: closed")

// perf is the run-time state of retry.go and close.go, kept in settings.
type perf struct {
	retry retryPolicy
	life  lifecycle
}

// lifecycle tracks token acquisitions in flight so that Close can cancel them
// and wait for them. Its zero value is an open Middleware.
type lifecycle struct {
	mu     sync.RWMutex
	closed bool
	done   atomic.Bool // closed, read without the lock on every request
	wg     sync.WaitGroup
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
}

func (l *lifecycle) init() {
	l.once.Do(func() { l.ctx, l.cancel = context.WithCancel(context.Background()) })
}

// enter registers one token acquisition and returns a context that Close
// cancels, or ErrClosed. The caller must call the returned done function.
func (l *lifecycle) enter(ctx context.Context) (context.Context, func(), error) {
	l.init()
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, nil, ErrClosed
	}
	l.wg.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(l.ctx, cancel)
	return ctx, func() { stop(); cancel(); l.wg.Done() }, nil
}

func (l *lifecycle) isClosed() bool { return l.done.Load() }

// Close shuts the Middleware down: routes wrapped by Require answer 503
// (ErrClosed) from now on, AppToken and calls through Transport or Client
// fail with an error wrapping ErrClosed and ErrUnavailable, token
// acquisitions in flight (a refresh or an app token at Entra, a retry
// backoff) are cancelled, and Close waits until they have returned. Then it
// closes the idle connections of Config.HTTPClient.
//
// The Middleware runs no background goroutines of its own between requests:
// no janitor, no refresher. The only goroutines it starts are the shared token
// acquisitions of concurrent requests, which end with them (or at Close).
// AuthHandler keeps answering (a user in the middle of a sign-in while the
// server drains can finish it). Close does not close Config.Cache or its
// store (a Redis client belongs to its caller) nor Config.Sessions. It is safe
// to call more than once and always returns nil.
func (m *Middleware) Close() error {
	l := &m.cfg.perf.life
	l.init()
	l.mu.Lock()
	l.closed = true
	l.done.Store(true)
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
	if c := m.cfg.HTTPClient; c != nil {
		c.CloseIdleConnections()
	}
	return nil
}

// refuseClosed answers r with 503 when the Middleware is closed.
func (m *Middleware) refuseClosed(w http.ResponseWriter, r *http.Request) bool {
	if !m.cfg.perf.life.isClosed() {
		return false
	}
	m.fail(w, r, fmt.Errorf("%w: %w", ErrUnavailable, ErrClosed))
	return true
}
