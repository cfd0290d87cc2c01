package middleware

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/consentry/consentry/tokencache"
)

// clientPool hands out MSAL confidential clients, each to one goroutine at a
// time. MSAL's Replace (load a user's partition) and the read that follows are
// not under one lock, so a client shared by concurrent users can read another
// user's partition and report a spurious "no token found". With one client per
// call in flight that cannot happen, and "no token found" means what it says.
//
// Clients are made when a call finds none idle, up to max calls in flight
// (Config.TokenConcurrency), and kept for the next calls: a herd of N users
// whose tokens expire together gets N refreshes at once (N ≤ max), one round
// trip each, and a quiet server holds the few clients it needed. A client
// costs a few KiB (the last partition it loaded) and is never dropped; the
// authority's metadata, which each client reads on its first call, is
// fetched once for all of them (authorityMetadata).
type clientPool struct {
	slots   chan struct{} // one per call in flight
	share   chan struct{} // slots of calls that may hold a client long (withShare)
	waiting atomic.Int32  // calls waiting for a share slot
	make    func() (confidential.Client, error)
	mu      sync.Mutex
	idle    []confidential.Client
	made    int
}

// newClientPool returns the pool of New, with one client made to check the
// configuration.
func newClientPool(s *settings, cache *tokencache.Cache) (*clientPool, error) {
	hc := shareAuthorityMetadata(s.HTTPClient, s.Now)
	p := newPool(s.TokenConcurrency, func() (confidential.Client, error) {
		c, err := confidential.New(s.Authority, s.ClientID, s.Credential,
			confidential.WithCache(cache),
			confidential.WithHTTPClient(hc),
			confidential.WithInstanceDiscovery(!s.DisableInstanceDiscovery),
			confidential.WithClientCapabilities(s.ClientCapabilities))
		if err != nil {
			return c, fmt.Errorf("middleware: MSAL rejected Config.Authority, ClientID or Credential: %w", err)
		}
		return c, nil
	})
	c, err := p.take()
	if err != nil {
		return nil, err
	}
	p.put(c)
	return p, nil
}

// newPool returns a pool of at most bound clients in use at once, made by
// mk, half of them at most for long calls (withShare).
func newPool(bound int, mk func() (confidential.Client, error)) *clientPool {
	return &clientPool{slots: make(chan struct{}, bound), share: make(chan struct{}, max(1, bound/2)), make: mk}
}

// take returns an idle client or a new one. The caller holds a slot, or is New.
func (p *clientPool) take() (confidential.Client, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	c, err := p.make() // outside the lock: other calls need not wait for it
	if err == nil {
		p.mu.Lock()
		p.made++
		p.mu.Unlock()
	}
	return c, err
}

func (p *clientPool) put(c confidential.Client) {
	p.mu.Lock()
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// with runs fn with a client of its own, waiting for one while ctx allows,
// for at most attemptTimeout once it holds the client.
func (p *clientPool) with(ctx context.Context, fn func(confidential.Client) error) error {
	return p.withTimeout(ctx, attemptTimeout, func(_ context.Context, c confidential.Client) error { return fn(c) })
}

// withTimeout runs fn with a client of its own and a context that ends
// timeout after the client was taken (no timeout when it is 0): the wait for
// a client does not count against fn's time.
func (p *clientPool) withTimeout(ctx context.Context, timeout time.Duration, fn func(context.Context, confidential.Client) error) error {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.slots }()
	c, err := p.take()
	if err != nil {
		return err
	}
	defer p.put(c)
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return redactError(fn(ctx, c)) // MSAL's errors can quote token responses
}

// entraClient is the default Config.HTTPClient: http.DefaultTransport's
// settings, keeping an idle connection to Entra for each of idle calls.
func entraClient(idle int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = idle
	return &http.Client{Transport: t}
}
