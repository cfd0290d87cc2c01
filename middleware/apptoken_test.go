package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

func TestAppTokenErrors(t *testing.T) {
	e := newEnv(t)
	a := e.serveApp(t, nil)
	ctx := context.Background()
	for _, tc := range []struct{ tenant, scope string }{{"", ""}, {"a/b", ""}, {e.tenant.ID, "User.Read"}} {
		if _, err := a.mw.AppToken(ctx, tc.tenant, tc.scope); !errors.Is(err, middleware.ErrInvalidRequest) {
			t.Errorf("AppToken(%q, %q) = %v", tc.tenant, tc.scope, err)
		}
	}
	// The home tenant has the app but no role assigned: a token without roles.
	_, err := a.mw.AppToken(ctx, e.tenant.ID, "", "User.Read.All")
	var ace *middleware.AppConsentError
	if !errors.As(err, &ace) || errors.Is(err, middleware.ErrTenantNotOnboarded) || ace.Roles[0] != "User.Read.All" {
		t.Fatalf("no roles: %v", err)
	}
	e.idp.GrantAppRoles(e.tenant.ID, e.app.ClientID, "User.Read.All")
	if _, err := a.mw.AppToken(ctx, e.tenant.ID, "", "User.Read.All"); err != nil {
		t.Fatalf("after the grant (cached role-less token dropped): %v", err)
	}
	// A tenant the app was never added to: not onboarded (AADSTS700016).
	other := e.idp.AddTenant(entratest.Tenant{Domain: "other.example"})
	_, err = a.mw.AppToken(ctx, other.ID, "")
	if !errors.As(err, &ace) || !errors.Is(err, middleware.ErrTenantNotOnboarded) || ace.Code == 0 {
		t.Fatalf("foreign tenant: %v", err)
	}
}

func TestAppConsentErrorIs(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &middleware.AppConsentError{TenantID: "t", Code: 700016, ConnectURL: "https://app/auth/connect"})
	if !errors.Is(err, middleware.ErrAppConsentRequired) || !errors.Is(err, middleware.ErrTenantNotOnboarded) ||
		!strings.HasPrefix(err.Error(), "wrapped: middleware:") {
		t.Errorf("%v", err)
	}
	if errors.Is(&middleware.AppConsentError{TenantID: "t", Roles: []string{"x"}}, middleware.ErrTenantNotOnboarded) {
		t.Error("missing roles reported as not onboarded")
	}
}

// TestAppTokenRetriesEntraFaults: a client-credentials request that meets a
// 5xx or a timeout is tried again with backoff, like a silent refresh.
func TestAppTokenRetriesEntraFaults(t *testing.T) {
	cases := []struct {
		name      string
		fail      int
		status    int
		latency   time.Duration
		wantErr   bool
		wantCalls int
	}{
		{"one 500, then ok", 1, 500, 0, false, 2},
		{"two 503, then ok", 2, 503, 0, false, 3},
		{"504 for ever", 100, 504, 0, true, 3},
		{"timeouts", 0, 0, time.Minute, true, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.idp.GrantAppRoles(e.tenant.ID, e.app.ClientID, "User.Read.All")
			s := e.failingEntra(c.fail, c.status, c.latency)
			e.idp.ResetCounts()
			_, err := e.mw.AppToken(context.Background(), e.tenant.ID, "", "User.Read.All")
			if (err != nil) != c.wantErr || (err != nil && !errors.Is(err, middleware.ErrUnavailable)) {
				t.Fatalf("AppToken: %v, want error %v (ErrUnavailable)", err, c.wantErr)
			}
			if n := e.idp.Count(entratest.EndpointToken); n != c.wantCalls && (c.latency == 0 || n > c.wantCalls) {
				t.Errorf("%d token requests, want %d", n, c.wantCalls)
			}
			checkBackoffs(t, s.list(), c.wantCalls-1)
		})
	}
}
