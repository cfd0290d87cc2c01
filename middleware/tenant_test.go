package middleware_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
	"github.com/consentry/consentry/tokencache/seal"
)

// customer is a second tenant using a multi-tenant app registration.
type customer struct {
	tenant      entratest.Tenant
	user, admin entratest.User
}

// multiTenant switches env to a multi-tenant app that needs User.Read
// (delegated) and the User.Read.All application role, and adds a customer tenant.
func (e *env) multiTenant(t *testing.T, mutate func(*middleware.Config)) (*testApp, customer) {
	t.Helper()
	e.app = e.idp.AddApp(entratest.App{DisplayName: "Consentry SaaS", HomeTenantID: e.tenant.ID, MultiTenant: true,
		Secrets: []string{testSecret}, RedirectURIs: []string{e.srv.URL + "/auth/callback"},
		RequiredScopes: []string{"User.Read"}, RequiredRoles: []string{"User.Read.All"}})
	e.cfg.ClientID = e.app.ClientID
	c := customer{tenant: e.idp.AddTenant(entratest.Tenant{Domain: "fabrikam.example", DisplayName: "Fabrikam"})}
	c.user = e.idp.AddUser(entratest.User{TenantID: c.tenant.ID, UPN: "fay@fabrikam.example", DisplayName: "Fay"})
	c.admin = e.idp.AddUser(entratest.User{TenantID: c.tenant.ID, UPN: "fin@fabrikam.example", DisplayName: "Fin", Admin: true})
	return e.serveApp(t, mutate), c
}

func TestConnectOnboardsCustomerWhoseUsersCameFirst(t *testing.T) {
	e := newEnv(t)
	a, c := e.multiTenant(t, func(cfg *middleware.Config) {
		cfg.RequireOnboarding, cfg.ConnectRoles = true, []string{"User.Read.All"}
	})
	ctx := context.Background()

	// A user signs in before their admin connected the app: a page with the connect link.
	ub := e.browser(c.user, entratest.Accept)
	p := e.get(t, ub, "/profile")
	if p.StatusCode != http.StatusForbidden || !strings.Contains(p.Body, "has not connected this app") {
		t.Fatalf("user before onboarding: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	link := adminLink(t, p)
	if !strings.Contains(link, "/auth/connect?") || !strings.Contains(link, "tenant="+c.tenant.ID) {
		t.Fatalf("connect link %q", link)
	}
	if acct, ok := a.mw.Account(appRequest(t, e, ub)); ok {
		t.Errorf("refused user is signed in as %v", acct)
	}

	// App-only tokens: not consented yet, typed error with the connect URL.
	_, err := a.mw.AppToken(ctx, c.tenant.ID, "", "User.Read.All")
	var ace *middleware.AppConsentError
	if !errors.As(err, &ace) || !errors.Is(err, middleware.ErrAppConsentRequired) || !strings.Contains(ace.ConnectURL, "tenant="+c.tenant.ID) {
		t.Fatalf("AppToken before connect: %v", err)
	}

	// The admin connects the tenant, and lands on the page.
	p = open(t, e.browser(c.admin, entratest.Accept), link)
	if p.StatusCode != 200 || len(steps(p, "adminconsent")) != 1 {
		t.Fatalf("connect: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	if ok, err := a.mw.Onboarded(ctx, c.tenant.ID); !ok || err != nil {
		t.Fatalf("Onboarded = %v, %v", ok, err)
	}
	tok, err := a.mw.AppToken(ctx, c.tenant.ID, "", "User.Read.All")
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("AppToken after connect: %v", err)
	}

	// The user now gets in, without any consent page.
	p = e.get(t, ub, "/profile")
	if p.StatusCode != 200 || len(steps(p, "consent")) != 0 {
		t.Fatalf("user after onboarding: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
}

func TestTenantNotOnAllowListIsRefused(t *testing.T) {
	e := newEnv(t)
	a, c := e.multiTenant(t, func(cfg *middleware.Config) { cfg.AllowedTenants = []string{e.tenant.ID} })
	if p := e.get(t, e.browser(e.user, entratest.Accept), "/profile"); p.StatusCode != 200 {
		t.Fatalf("allowed tenant: %d%s", p.StatusCode, trail(p))
	}
	ub := e.browser(c.user, entratest.Accept)
	p := e.get(t, ub, "/profile")
	if p.StatusCode != http.StatusForbidden || !strings.Contains(p.Body, "Your organization cannot use this app") {
		t.Fatalf("other tenant: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	if _, ok := a.mw.Account(appRequest(t, e, ub)); ok {
		t.Error("refused user is signed in")
	}
	// Its admin cannot connect it either.
	e.idp.ResetCounts()
	p = open(t, e.browser(c.admin, entratest.Accept), e.srv.URL+a.mw.ConnectURL("/", c.tenant.ID))
	if p.StatusCode != http.StatusForbidden || e.idp.Count(entratest.EndpointAdminConsent) != 0 {
		t.Errorf("connect of a refused tenant: %d%s", p.StatusCode, trail(p))
	}
	p = open(t, e.browser(c.admin, entratest.Accept), e.srv.URL+a.mw.ConnectURL("/", ""))
	if p.StatusCode != http.StatusForbidden || !strings.Contains(p.Body, "cannot use this app") {
		t.Errorf("connect without a tenant hint: %d%s", p.StatusCode, trail(p))
	}
	if ok, _ := a.mw.Onboarded(context.Background(), c.tenant.ID); ok {
		t.Error("refused tenant recorded as onboarded")
	}
}

// appRequest returns a request to the app carrying b's cookies.
func appRequest(t *testing.T, e *env, b *entratest.Browser) *http.Request {
	t.Helper()
	r, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/", nil)
	for _, c := range b.Client.Jar.Cookies(r.URL) {
		r.AddCookie(c)
	}
	return r
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

// TestTenantRecordSealedBeforeSealStaysOnboarded: a tenant record stored the
// way the middleware sealed records before package seal (AES-256-GCM under
// HMAC-SHA256(hash key, "consentry/sealed/v1/tenant"), the nonce first, the
// store key as additional data) still reads as onboarded after an upgrade.
func TestTenantRecordSealedBeforeSealStaysOnboarded(t *testing.T) {
	ctx := context.Background()
	store := tokencache.NewMemoryStore()
	cache, err := tokencache.New(store)
	if err != nil {
		t.Fatal(err)
	}
	cfg := validConfig(t)
	cfg.Cache = cache
	mw, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	mac := hmac.New(sha256.New, sessionKeys[0])
	mac.Write([]byte("consentry/sealed/v1/tenant"))
	block, _ := aes.NewCipher(mac.Sum(nil))
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, gcm.NonceSize())
	_, _ = rand.Read(nonce)
	key := "consentry:tenant:" + seal.ID("contoso-tenant-id")
	blob := gcm.Seal(nonce, nonce, []byte(`{"v":{"o":true,"t":"2026-01-01T00:00:00Z"}}`), []byte(key))
	if err := store.Set(ctx, key, blob, 0); err != nil {
		t.Fatal(err)
	}
	if ok, err := mw.Onboarded(ctx, "Contoso-Tenant-ID"); !ok || err != nil {
		t.Fatalf("Onboarded = %v, %v; want true", ok, err)
	}
}
