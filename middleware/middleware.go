package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/sessions"

	"github.com/consentry/consentry/middleware/internal/flight"
	"github.com/consentry/consentry/middleware/internal/flowstore"
	"github.com/consentry/consentry/middleware/internal/hotcache"
	"github.com/consentry/consentry/middleware/internal/sealed"
	"github.com/consentry/consentry/tokencache"
)

// Middleware protects routes with per-route scopes and runs the sign-in and
// consent round trips with Entra ID. Create it with New; it is safe for
// concurrent use.
type Middleware struct {
	cfg             *settings
	log             *slog.Logger
	cache           *tokencache.Cache
	authority       *tokencache.Authority // Config.Authority as MSAL keys tokens; nil: the cold path asks MSAL
	clients         *clientPool
	flows           *flowstore.Store
	flowKV          tokencache.Store // Config.FlowStore or its default (flowStore)
	sessions        sessions.Store
	tokens          *hotcache.Cache[routeSet]  // by tokenOwner
	memo            *hotcache.Cache[memoEntry] // decoded session cookies; default cookie store only
	fast            *hotcache.Cache[routeSet]  // by session cookie; default cookie store only
	routes          routeIDs
	tokenRts        sync.Map     // scopes given to Token, joined by spaces → *route
	tokenRtN        atomic.Int32 // entries in tokenRts, at most maxTokenScopeSets
	flight          flight.Group[*authInfo]
	resumes         *sealed.Box   // POST requests kept across a round trip
	loops           *sealed.Box   // loop-guard counters
	tenants         *sealed.Box   // tenant records (onboarding, admin-granted scopes)
	revoked         *sealed.Box   // signed-out sessions
	retry           retryPolicy   // of silent acquisitions and AppToken
	silentLimit     time.Duration // bounds one silent acquisition; zero: silentTimeout
	life            lifecycle     // Close: cancels and waits for acquisitions in flight
	front           frontChannel
	ids             idVerifier     // ID tokens of redeemed codes
	declared        declaredScopes // what sign-in links may ask for
	keptBodyTimeout time.Duration  // 0: keptBodyTimeout; tests shorten it
	keyFetchTimeout time.Duration  // 0: attemptTimeout; tests shorten it
	tenantRation    tenantLimiter  // confirmations of admin consent per tenant
}

// New validates cfg and returns a Middleware. Its error says which Config field
// to fix. New makes no network call.
func New(cfg Config) (*Middleware, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	m := &Middleware{cfg: s, log: s.Logger, cache: s.Cache, tokens: hotcache.New[routeSet](s.TokenCacheSize)}
	if m.cache == nil {
		if m.cache, err = tokencache.New(nil); err != nil {
			return nil, fmt.Errorf("middleware: default token cache: %w", err)
		}
	}
	m.authority = cacheAuthority(s.Authority)
	if m.clients, err = newClientPool(s, m.cache); err != nil {
		return nil, err
	}
	m.declared.add(s.ConnectScopes)
	m.flowKV = flowStore(s, m.cache)
	warnSharedFlowStore(m.log, s, m.cache)
	if m.flows, err = flowstore.New(m.flowKV, hashKeys(s.SessionKeys), FlowTTL, s.Now); err != nil {
		return nil, fmt.Errorf("middleware: %w", err)
	}
	if err := m.newBoxes(); err != nil {
		return nil, err
	}
	m.sessions = s.Sessions
	if s.AppSession != nil {
		m.sessions = appStore{s.AppSession}
	}
	if m.sessions == nil {
		m.sessions = newCookieStore(s)
		m.memo = hotcache.NewBounded[memoEntry](s.TokenCacheSize, s.TokenCacheSize*memoBytesPerEntry).HashTail(cookieTail)
		m.fast = hotcache.NewBounded[routeSet](s.TokenCacheSize, s.TokenCacheSize*memoBytesPerEntry).HashTail(cookieTail)
	}
	return m, nil
}

// flowStore is Config.FlowStore or its default: the token cache's Store
// unless it is in-process, else a bounded admitting store of this
// Middleware's own (replicas in one process share flows only through
// Config.FlowStore).
func flowStore(s *settings, cache *tokencache.Cache) tokencache.Store {
	if s.FlowStore != nil {
		return s.FlowStore
	}
	if ip, ok := cache.Store().(tokencache.InProcess); ok && ip.InProcess() {
		return newFlowPools(s.Now)
	}
	return cache.Store()
}

// newBoxes opens the sealed record stores: kept requests and loop counters
// in the flow store, tenant records with the tokens.
func (m *Middleware) newBoxes() error {
	keys, now := hashKeys(m.cfg.SessionKeys), m.cfg.Now
	var err error
	for _, b := range []struct {
		dst           **sealed.Box
		kv            sealed.KV
		label, prefix string
	}{
		{&m.resumes, m.flowKV, "resume", "consentry:resume:"},
		{&m.loops, m.flowKV, "loop", "consentry:loop:"},
		{&m.tenants, m.cache.Store(), "tenant", "consentry:tenant:"},
		{&m.revoked, m.cache.Store(), "revoked", "consentry:revoked:"},
	} {
		if *b.dst, err = sealed.New(b.kv, keys, b.label, b.prefix, now); err != nil {
			return fmt.Errorf("middleware: %w", err)
		}
	}
	return nil
}

// hashKeys returns the hash keys of securecookie key pairs.
func hashKeys(pairs [][]byte) [][]byte {
	var ks [][]byte
	for i := 0; i < len(pairs); i += 2 {
		ks = append(ks, pairs[i])
	}
	return ks
}

// ErrClosed: the Middleware was closed; requests through Require answer 503
// with an error wrapping both ErrClosed and ErrUnavailable, and AppToken,
// Transport and Client fail with such an error.
var ErrClosed = errors.New("middleware: closed")

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
	return l.enterUntil(ctx, time.Time{})
}

// enterUntil is enter with a context that also ends at deadline (none if
// zero): one context layer for both.
func (l *lifecycle) enterUntil(ctx context.Context, deadline time.Time) (context.Context, func(), error) {
	l.init()
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, nil, ErrClosed
	}
	l.wg.Add(1)
	var cancel context.CancelFunc
	if deadline.IsZero() {
		ctx, cancel = context.WithCancel(ctx)
	} else {
		ctx, cancel = context.WithDeadline(ctx, deadline)
	}
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
	l := &m.life
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
	if !m.life.isClosed() {
		return false
	}
	m.fail(w, r, fmt.Errorf("%w: %w", ErrUnavailable, ErrClosed))
	return true
}
