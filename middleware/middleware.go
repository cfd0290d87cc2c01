package middleware

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/gorilla/sessions"

	"github.com/consentry/consentry/middleware/internal/flight"
	"github.com/consentry/consentry/middleware/internal/flowstore"
	"github.com/consentry/consentry/middleware/internal/hotcache"
	"github.com/consentry/consentry/middleware/internal/sealed"
	"github.com/consentry/consentry/tokencache"
)

// silentTimeout bounds one silent token acquisition (cache read plus refresh).
const silentTimeout = 30 * time.Second

// Middleware protects routes with per-route scopes and runs the sign-in and
// consent round trips with Entra ID. Create it with New; it is safe for
// concurrent use.
type Middleware struct {
	cfg             *settings
	log             *slog.Logger
	cache           *tokencache.Cache
	clients         *clientPool
	flows           *flowstore.Store
	flowKV          tokencache.Store // Config.FlowStore or its default (flowStore)
	sessions        sessions.Store
	tokens          *hotcache.Cache[*authInfo] // by tokenOwner and route id (require.go)
	memo            *hotcache.Cache[memoEntry] // default cookie store only (session.go)
	fast            *hotcache.Cache[*authInfo] // default cookie store only (fastpath.go)
	routes          routeIDs
	flight          flight.Group[*authInfo]
	resumes         *sealed.Box // kept POST requests (resume.go)
	loops           *sealed.Box // loop-guard counters (loopguard.go)
	tenants         *sealed.Box // onboarded tenants (connect.go)
	revoked         *sealed.Box // signed-out sessions
	front           frontChannel
	ids             idVerifier
	declared        declaredScopes // what sign-in links may ask for
	keptBodyTimeout time.Duration  // 0: keptBodyTimeout; tests shorten it
	tenantRation    tenantLimiter  // confirmations of admin consent per tenant
}

// tokenOwner is the key string of an account's tokens in m.tokens; the
// route id of the scope set is the other half of the key.
func tokenOwner(acct Account) string { return acct.HomeAccountID + "\x00" + acct.TenantID }

// New validates cfg and returns a Middleware. Its error says which Config field
// to fix. New makes no network call.
func New(cfg Config) (*Middleware, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	m := &Middleware{cfg: s, log: s.Logger, cache: s.Cache, tokens: hotcache.New[*authInfo](s.TokenCacheSize)}
	if m.cache == nil {
		if m.cache, err = tokencache.New(nil); err != nil {
			return nil, fmt.Errorf("middleware: default token cache: %w", err)
		}
	}
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
	if m.sessions == nil {
		m.sessions = newCookieStore(s)
		m.memo = hotcache.NewBounded[memoEntry](s.TokenCacheSize, memoBytes)
		m.fast = hotcache.NewBounded[*authInfo](s.TokenCacheSize, memoBytes)
	}
	return m, nil
}

// flowStore is Config.FlowStore or its default: the token cache's Store
// unless it is in-process, else a bounded MemoryStore of its own.
func flowStore(s *settings, cache *tokencache.Cache) tokencache.Store {
	if s.FlowStore != nil {
		return s.FlowStore
	}
	if ip, ok := cache.Store().(tokencache.InProcess); ok && ip.InProcess() {
		return memoryFlowStore(cache, s.Now)
	}
	return cache.Store()
}

// flowStores maps an in-process token cache to its default flow store, so
// that middlewares sharing one Cache (replicas in one process) share their
// pending flows too. An entry goes when its Cache is collected.
var flowStores struct {
	sync.Mutex
	m map[weak.Pointer[tokencache.Cache]]*flowPools
}

// memoryFlowStore returns the bounded in-process flow store that goes with cache.
func memoryFlowStore(cache *tokencache.Cache, now func() time.Time) *flowPools {
	flowStores.Lock()
	defer flowStores.Unlock()
	wp := weak.Make(cache)
	if st, ok := flowStores.m[wp]; ok {
		return st
	}
	if flowStores.m == nil {
		flowStores.m = map[weak.Pointer[tokencache.Cache]]*flowPools{}
	}
	st := newFlowPools(now)
	flowStores.m[wp] = st
	runtime.AddCleanup(cache, func(wp weak.Pointer[tokencache.Cache]) {
		flowStores.Lock()
		defer flowStores.Unlock()
		delete(flowStores.m, wp)
	}, wp)
	return st
}

// newBoxes opens the sealed record stores of issue 5's features: kept
// requests and loop counters in the flow store, tenants with the tokens.
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

// clientPool hands out MSAL confidential clients, each to one goroutine at a
// time. MSAL's Replace (load a user's partition) and the read that follows are
// not under one lock, so a client shared by concurrent users can read another
// user's partition and report a spurious "no token found". With one client per
// call in flight that cannot happen, and "no token found" means what it says.
type clientPool struct {
	idle    chan confidential.Client
	share   chan struct{} // slots of calls that may hold a client long (withShare)
	waiting atomic.Int32  // calls waiting for a slot
}

func newClientPool(s *settings, cache *tokencache.Cache) (*clientPool, error) {
	p := &clientPool{idle: make(chan confidential.Client, s.TokenConcurrency),
		share: make(chan struct{}, max(1, s.TokenConcurrency/2))}
	for range s.TokenConcurrency {
		c, err := confidential.New(s.Authority, s.ClientID, s.Credential,
			confidential.WithCache(cache),
			confidential.WithHTTPClient(s.HTTPClient),
			confidential.WithInstanceDiscovery(!s.DisableInstanceDiscovery),
			confidential.WithClientCapabilities(s.ClientCapabilities))
		if err != nil {
			return nil, fmt.Errorf("middleware: MSAL rejected Config.Authority, ClientID or Credential: %w", err)
		}
		p.idle <- c
	}
	return p, nil
}

// with runs fn with a client of its own, waiting for one while ctx allows,
// for at most RefreshAttemptTimeout once it holds the client.
func (p *clientPool) with(ctx context.Context, fn func(confidential.Client) error) error {
	return p.withTimeout(ctx, RefreshAttemptTimeout, func(_ context.Context, c confidential.Client) error { return fn(c) })
}

// withTimeout runs fn with a client of its own and a context that ends
// timeout after the client was taken (no timeout when it is 0): the wait for
// a client does not count against fn's time.
func (p *clientPool) withTimeout(ctx context.Context, timeout time.Duration, fn func(context.Context, confidential.Client) error) error {
	select {
	case c := <-p.idle:
		defer func() { p.idle <- c }()
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		return redactError(fn(ctx, c)) // MSAL's errors can quote token responses
	case <-ctx.Done():
		return ctx.Err()
	}
}
