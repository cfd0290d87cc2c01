package middleware

import (
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"time"
)

// An admin-consent or connect callback names a tenant anyone can choose,
// and confirming it costs a request to Entra's token endpoint. Confirmations
// are therefore rationed per tenant: a token bucket of tenantBurst,
// refilled at one per tenantRefill, kept in a fixed table of tenantSlots
// buckets (tenants whose hashes collide share one), so the limiter's memory
// does not grow with the tenants named. A callback beyond the ration gets a
// 503 page (try again in a minute) without a request to Entra.

const (
	tenantSlots  = 1024
	tenantBurst  = 5
	tenantRefill = 12 * time.Second // 5 a minute once the burst is spent
)

// tenantLimiter rations confirmations per tenant.
type tenantLimiter struct {
	mu    sync.Mutex
	seed  maphash.Seed
	slots [tenantSlots]tenantBucket
}

type tenantBucket struct {
	tokens float64
	at     time.Time // last refill; zero: a full bucket
}

// allow takes one confirmation for tenant at now, if its bucket has one.
func (l *tenantLimiter) allow(tenant string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seed == (maphash.Seed{}) {
		l.seed = maphash.MakeSeed()
	}
	b := &l.slots[maphash.String(l.seed, strings.ToLower(tenant))%tenantSlots]
	if b.at.IsZero() {
		b.tokens, b.at = tenantBurst, now
	}
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(tenantBurst, b.tokens+float64(d)/float64(tenantRefill))
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// errTenantRationed: a tenant's confirmations are spent for now.
func errTenantRationed(tenant string) error {
	return fmt.Errorf("%w: too many admin-consent confirmations for tenant %s just now; try again in a minute", ErrUnavailable, tenant)
}
