package middleware_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
)

// deleteLog is a memory token store that records the keys deleted from it.
type deleteLog struct {
	*tokencache.MemoryStore
	mu   sync.Mutex
	keys []string
}

func (d *deleteLog) Delete(ctx context.Context, key string) error {
	d.mu.Lock()
	d.keys = append(d.keys, key)
	d.mu.Unlock()
	return d.MemoryStore.Delete(ctx, key)
}

func (d *deleteLog) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys = nil
}

func (d *deleteLog) appPartitions() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(d.keys), func(k string) bool { return !strings.HasSuffix(k, "_AppTokenCache") })
}

// TestForgedConnectCallbackSparesAppTokens: an anonymous forged connect
// callback, naming an onboarded tenant whose app token is cached or a tenant
// without the app, evicts no cached app token and costs at most one request to the
// token endpoint, even while Entra answers 503 (no retries): a flood of such
// callbacks cannot empty the app's token cache nor get the app throttled.
func TestForgedConnectCallbackSparesAppTokens(t *testing.T) {
	tests := []struct {
		name   string
		home   bool // name the home tenant, whose app token is cached, instead of the customer's
		outage bool // the token endpoint answers 503 during the callback
	}{
		{"customer tenant without the app", false, false},
		{"customer tenant without the app, Entra failing", false, true},
		{"tenant with a cached app token", true, false},
		{"tenant with a cached app token, Entra failing", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			store := &deleteLog{MemoryStore: tokencache.NewMemoryStore()}
			a, c := e.multiTenant(t, func(cfg *middleware.Config) {
				cfg.ConnectRoles = []string{"User.Read.All"}
				cache, err := tokencache.New(store)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Cache = cache
			})
			middleware.SetRetry(a.mw, func(context.Context, time.Duration) error { return nil }, 0)
			ctx := context.Background()
			// The home tenant is onboarded (a real connect) and its app token cached.
			if p := open(t, e.browser(e.addAdmin("alex"), entratest.Accept), e.srv.URL+a.mw.ConnectURL("/", e.tenant.ID)); p.StatusCode != http.StatusOK {
				t.Fatalf("connect the home tenant: %d %s%s", p.StatusCode, p.Body, trail(p))
			}
			if _, err := a.mw.AppToken(ctx, e.tenant.ID, "", "User.Read.All"); err != nil {
				t.Fatalf("AppToken of the home tenant: %v", err)
			}
			target := c.tenant.ID
			if tc.home {
				target = e.tenant.ID
			}
			store.reset()
			if tc.outage {
				e.idp.FailTokenRequests(100, http.StatusServiceUnavailable)
			}
			e.idp.ResetCounts()
			status := e.forgeAdminConsent(t, e.browser(c.user, entratest.Accept), "/auth/connect?redirect=/", target)
			if n := e.idp.Count(entratest.EndpointToken); n > 1 {
				t.Errorf("forged callback (%d) made %d token requests, want at most 1", status, n)
			}
			if keys := store.appPartitions(); len(keys) > 0 {
				t.Errorf("forged callback (%d) removed app token partitions %q", status, keys)
			}
			e.idp.FailTokenRequests(0, 0)
			e.idp.ResetCounts()
			if _, err := a.mw.AppToken(ctx, e.tenant.ID, "", "User.Read.All"); err != nil || e.idp.Count(entratest.EndpointToken) != 0 {
				t.Errorf("home tenant's app token after the forged callback: err %v, %d token requests, want it cached",
					err, e.idp.Count(entratest.EndpointToken))
			}
		})
	}
}

// TestConnectAfterRolelessAppTokenOnboards: an app token cached before the
// admin's consent (no roles) does not make the real connect callback fail:
// verification asks Entra for a fresh token once the cached one lacks a role.
func TestConnectAfterRolelessAppTokenOnboards(t *testing.T) {
	e := newEnv(t)
	a, _ := e.multiTenant(t, func(cfg *middleware.Config) { cfg.ConnectRoles = []string{"User.Read.All"} })
	ctx := context.Background()
	if _, err := a.mw.AppToken(ctx, e.tenant.ID, ""); err != nil { // the home tenant has the app, no roles yet
		t.Fatalf("AppToken without roles: %v", err)
	}
	p := open(t, e.browser(e.addAdmin("alex"), entratest.Accept), e.srv.URL+a.mw.ConnectURL("/", e.tenant.ID))
	if p.StatusCode != http.StatusOK {
		t.Fatalf("connect: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	if ok, err := a.mw.Onboarded(ctx, e.tenant.ID); !ok || err != nil {
		t.Fatalf("Onboarded = %v, %v", ok, err)
	}
	if _, err := a.mw.AppToken(ctx, e.tenant.ID, "", "User.Read.All"); err != nil {
		t.Errorf("AppToken with the connect roles: %v", err)
	}
}
