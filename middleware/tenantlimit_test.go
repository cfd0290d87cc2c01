package middleware_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware/entratest"
)

// TestForgedCallbacksRationedPerTenant: forged connect callbacks naming one
// tenant cost at most a handful of token requests a minute; the ration
// refills with time, and other tenants keep theirs.
func TestForgedCallbacksRationedPerTenant(t *testing.T) {
	e := newEnv(t)
	_, c := e.multiTenant(t, nil)
	b := e.browser(c.user, entratest.Accept)
	forge := func(n int, tenant string) (requests int) {
		e.idp.ResetCounts()
		for range n {
			if s := e.forgeAdminConsent(t, b, "/auth/connect?redirect=/", tenant); s == http.StatusOK {
				t.Fatalf("a forged callback was accepted")
			}
		}
		return e.idp.Count(entratest.EndpointToken)
	}
	if n := forge(20, c.tenant.ID); n > 5 {
		t.Errorf("20 forged callbacks for one tenant made %d token requests, want at most 5", n)
	}
	if n := forge(1, e.tenant.ID); n != 1 {
		t.Errorf("another tenant's callback made %d token requests, want 1", n)
	}
	e.clock.Advance(time.Minute)
	if n := forge(20, c.tenant.ID); n == 0 || n > 5 {
		t.Errorf("a minute later, 20 forged callbacks made %d token requests, want 1 to 5", n)
	}
}
