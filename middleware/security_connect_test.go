package middleware_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// forgeAdminConsent starts path (/auth/connect or /auth/adminconsent) in b's
// session and, instead of going to Entra, calls the callback with a forged
// admin_consent=True for tenant. It returns the callback's status.
func (e *env) forgeAdminConsent(t *testing.T, b *entratest.Browser, path, tenant string) int {
	t.Helper()
	cli := *b.Client
	cli.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := cli.Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	state := loc.Query().Get("state")
	if state == "" {
		t.Fatalf("%s: no state in %d %q", path, resp.StatusCode, loc)
	}
	q := url.Values{"state": {state}, "admin_consent": {"True"}, "tenant": {tenant}}
	if resp, err = cli.Get(e.srv.URL + "/auth/callback?" + q.Encode()); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestForgedAdminConsentCallbackIsRefused: a callback claiming admin_consent=True
// for a tenant, without Entra having been asked, onboards nothing.
func TestForgedAdminConsentCallbackIsRefused(t *testing.T) {
	tests := []struct {
		name     string
		roles    []string // Config.ConnectRoles
		signedIn bool     // the forger signs in first (as the customer's user)
		home     bool     // forge the app's home tenant (which has the app) instead of the customer's
	}{
		{"customer tenant without the app", nil, false, false},
		{"home tenant without the connect roles", []string{"User.Read.All"}, false, true},
		{"other tenant than the signed-in user's", nil, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			a, c := e.multiTenant(t, func(cfg *middleware.Config) {
				cfg.RequireOnboarding, cfg.ConnectRoles = !tc.signedIn && tc.roles != nil, tc.roles
			})
			target := c.tenant.ID
			if tc.home {
				target = e.tenant.ID
			}
			b := e.browser(c.user, entratest.Accept)
			if tc.signedIn {
				if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusOK {
					t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
				}
			}
			status := e.forgeAdminConsent(t, b, "/auth/connect?redirect=/", target)
			if ok, err := a.mw.Onboarded(context.Background(), target); ok || err != nil {
				t.Errorf("forged callback (%d) onboarded tenant %s (err %v)", status, target, err)
			}
			if status != http.StatusForbidden && status != http.StatusBadRequest {
				t.Errorf("forged callback answered %d, want 403 or 400", status)
			}
		})
	}
}

// TestConnectWithRolesOnboardsAfterRealConsent: with Config.ConnectRoles the
// real connect round trip still onboards the tenant.
func TestConnectWithRolesOnboardsAfterRealConsent(t *testing.T) {
	e := newEnv(t)
	a, c := e.multiTenant(t, func(cfg *middleware.Config) {
		cfg.RequireOnboarding, cfg.ConnectRoles = true, []string{"User.Read.All"}
	})
	p := open(t, e.browser(c.admin, entratest.Accept), e.srv.URL+a.mw.ConnectURL("/", c.tenant.ID))
	if p.StatusCode != http.StatusOK {
		t.Fatalf("connect: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	if ok, err := a.mw.Onboarded(context.Background(), c.tenant.ID); !ok || err != nil {
		t.Fatalf("Onboarded = %v, %v", ok, err)
	}
	if p := e.get(t, e.browser(c.user, entratest.Accept), "/profile"); p.StatusCode != http.StatusOK {
		t.Errorf("user after onboarding: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
}

// TestForgedAdminConsentRecordsNoScopes: a signed-in admin's forged
// admin-consent callback does not mark User.Read.All as granted tenant-wide:
// the next visit to the admin route still goes to Entra's admin consent.
func TestForgedAdminConsentRecordsNoScopes(t *testing.T) {
	e := newEnv(t)
	e.start5(t, nil)
	b := e.browser(e.addAdmin("alex"), entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	e.forgeAdminConsent(t, b, "/auth/adminconsent?redirect=/directory&scope=User.Read.All", e.tenant.ID)
	p := e.get(t, b, "/directory")
	if p.StatusCode != http.StatusOK || len(steps(p, "adminconsent")) != 1 {
		t.Errorf("after a forged callback the admin route skipped admin consent: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
}
