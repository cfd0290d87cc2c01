package middleware_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
)

func TestAdminOnlyScopeApprovedByAdminForEveryone(t *testing.T) {
	e := newEnv(t)
	e.serveApp(t, nil)
	admin, bob := e.addAdmin("alex"), e.addUser("bob")

	// A non-admin gets the approval page with a working admin link, once.
	p := e.get(t, e.browser(e.user, entratest.Accept), "/directory")
	if p.StatusCode != http.StatusForbidden || !strings.Contains(p.Body, "administrator must approve") ||
		!strings.Contains(p.Body, "User.Read.All") || len(steps(p, "admin_approval")) != 1 {
		t.Fatalf("non-admin: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	link := adminLink(t, p)
	if !strings.HasPrefix(link, e.srv.URL+"/auth/adminconsent?") || !strings.Contains(link, "User.Read.All") {
		t.Fatalf("admin link %q", link)
	}

	// The admin opens it in their browser: admin consent, then the page.
	ab := e.browser(admin, entratest.Accept)
	p = open(t, ab, link)
	if p.StatusCode != 200 || !strings.Contains(p.Body, "directory for "+admin.UPN) || len(steps(p, "adminconsent")) != 1 {
		t.Fatalf("admin: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	if len(steps(p, "consent")) != 0 {
		t.Errorf("admin saw a user consent page after admin consent:%s", trail(p))
	}

	// The same non-admin, and a second user of the tenant: no consent page.
	for _, u := range []entratest.User{e.user, bob} {
		p := e.get(t, e.browser(u, entratest.Accept), "/directory")
		if p.StatusCode != 200 || !strings.Contains(p.Body, "directory for "+u.UPN) {
			t.Fatalf("%s after approval: %d %s%s", u.UPN, p.StatusCode, p.Body, trail(p))
		}
		if n := len(steps(p, "consent")) + len(steps(p, "admin_approval")); n != 0 {
			t.Errorf("%s saw %d consent pages after admin approval:%s", u.UPN, n, trail(p))
		}
	}
}

func TestSignedInAdminGoesStraightToAdminConsent(t *testing.T) {
	e := newEnv(t)
	e.serveApp(t, nil)
	admin := e.addAdmin("alex")
	b := e.browser(admin, entratest.Accept)
	if p := e.get(t, b, "/profile"); p.StatusCode != 200 {
		t.Fatalf("sign-in: %d%s", p.StatusCode, trail(p))
	}
	p := e.get(t, b, "/directory")
	if p.StatusCode != 200 || len(steps(p, "adminconsent")) != 1 || len(steps(p, "consent")) != 0 {
		t.Fatalf("admin on an admin route: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	grants := e.idp.Grants(e.tenant.ID, e.app.ClientID)
	if !slices.ContainsFunc(grants, func(g entratest.Grant) bool {
		return g.PrincipalID == "" && slices.Contains(g.Scopes, "User.Read.All")
	}) {
		t.Errorf("no tenant-wide grant of User.Read.All: %+v", grants)
	}
	// Once granted through the middleware, the admin is not sent to admin consent again.
	e.idp.ResetCounts()
	p = e.get(t, e.browser(admin, entratest.Accept), "/directory")
	if p.StatusCode != 200 || e.idp.Count(entratest.EndpointAdminConsent) != 0 {
		t.Errorf("second visit: %d, %d admin consents%s", p.StatusCode, e.idp.Count(entratest.EndpointAdminConsent), trail(p))
	}
}

func TestUserConsentDisabledSendsEveryScopeToAdmin(t *testing.T) {
	e := newEnv(t)
	e.serveApp(t, nil)
	e.idp.SetUserConsent(e.tenant.ID, false)
	b := e.browser(e.user, entratest.Accept)
	for _, path := range []string{"/profile", "/mail"} {
		p := e.get(t, b, path)
		if p.StatusCode != http.StatusForbidden || len(steps(p, "admin_approval")) != 1 || len(steps(p, "consent")) != 0 {
			t.Fatalf("%s: want the admin path, got %d%s", path, p.StatusCode, trail(p))
		}
		if link := adminLink(t, p); !strings.Contains(link, "redirect=%2F"+path[1:]) {
			t.Errorf("%s: admin link %q", path, link)
		}
	}
	// An admin approves /mail's permission; the user then gets the page.
	p := e.get(t, b, "/mail")
	ab := e.browser(e.addAdmin("alex"), entratest.Accept)
	if p := open(t, ab, adminLink(t, p)); p.StatusCode != 200 {
		t.Fatalf("admin approval: %d%s", p.StatusCode, trail(p))
	}
	if p := e.get(t, b, "/mail"); p.StatusCode != 200 || len(steps(p, "admin_approval")) != 0 {
		t.Fatalf("after approval: %d%s", p.StatusCode, trail(p))
	}
}

// TestAdminConsentLinkEndsOnAPage: an admin who declines, and a non-admin
// who opens the admin-consent link, both end on a clear page, no loop.
func TestAdminConsentLinkEndsOnAPage(t *testing.T) {
	tests := []struct {
		name      string
		opener    func(e *env) *entratest.Browser
		want      string
		authorize int // -1: not checked
	}{
		{"admin declines", func(e *env) *entratest.Browser { return e.browser(e.addAdmin("alex"), entratest.Decline) }, "You declined", 0},
		{"non-admin opens the link", func(e *env) *entratest.Browser { return e.browser(e.addUser("bob"), entratest.Accept) },
			"Only an administrator can approve this", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.serveApp(t, nil)
			p := e.get(t, e.browser(e.user, entratest.Accept), "/directory")
			link := adminLink(t, p)
			e.idp.ResetCounts()
			p = open(t, tc.opener(e), link)
			if p.StatusCode != http.StatusForbidden || !strings.Contains(p.Body, tc.want) {
				t.Fatalf("%d %s%s", p.StatusCode, p.Body, trail(p))
			}
			got := e.counts(entratest.EndpointAdminConsent, entratest.EndpointAuthorize)
			if got[0] != 1 || (tc.authorize >= 0 && got[1] != tc.authorize) {
				t.Errorf("admin consent/authorize calls %v, want [1 %d] (no loop)", got, tc.authorize)
			}
		})
	}
}

func TestAdminOnlyScopeForNonAdmin(t *testing.T) {
	e := newEnv(t)
	mux := http.NewServeMux()
	mux.Handle("/", e.routes(e.mw))
	mux.Handle("GET /directory", e.mw.Require("User.Read.All")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("directory"))
	})))
	e.setHandler(mux)
	b := e.browser(e.user, entratest.Accept)
	p := e.get(t, b, "/directory")
	if len(steps(p, "admin_approval")) != 1 {
		t.Fatalf("no admin approval page:%s", trail(p))
	}
	if p.StatusCode != http.StatusForbidden || !strings.Contains(p.Body, "administrator") || !strings.Contains(p.Body, "Try again") {
		t.Errorf("want the admin-approval page, got %d %q%s", p.StatusCode, p.Body, trail(p))
	}
	if n := e.idp.Count(entratest.EndpointAuthorize); n != 1 {
		t.Errorf("authorize called %d times (loop?)", n)
	}
	// Entra's way back from "Need admin approval" reads like a decline; the
	// page still carries the link an administrator opens, for exactly the
	// route's scope, and it works.
	link := adminLink(t, p)
	if want := e.srv.URL + "/auth/adminconsent?redirect=%2Fdirectory&scope=User.Read.All"; link != want {
		t.Fatalf("admin link %q, want %q", link, want)
	}
	if p := open(t, e.browser(e.addAdmin("alex"), entratest.Accept), link); p.StatusCode != 200 {
		t.Fatalf("admin approval: %d%s", p.StatusCode, trail(p))
	}
	if p := e.get(t, b, "/directory"); p.StatusCode != 200 || p.Body != "directory" {
		t.Errorf("after approval: %d %q%s", p.StatusCode, p.Body, trail(p))
	}
}

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

// TestForgedAdminConsentRecordsNoScopes: a signed-in admin's forged
// admin-consent callback does not mark User.Read.All as granted tenant-wide:
// the next visit to the admin route still goes to Entra's admin consent.
func TestForgedAdminConsentRecordsNoScopes(t *testing.T) {
	e := newEnv(t)
	e.serveApp(t, nil)
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
