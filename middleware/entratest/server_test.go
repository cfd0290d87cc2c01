package entratest_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware/entratest"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TestGraphTokensAreOpaqueToClients: Graph's access tokens carry a header
// nonce, so a client checking them against the JWKS fails, while tokens for
// an app's own API verify
// (https://learn.microsoft.com/entra/identity-platform/access-tokens#validate-tokens).
func TestGraphTokensAreOpaqueToClients(t *testing.T) {
	e := newEnv(t)
	pub := publishedKey(t, e)
	_, m := e.postToken(t, e.tenant.ID, url.Values{"grant_type": {"client_credentials"}, "client_id": {e.app.ClientID},
		"client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}})
	tok := m["access_token"].(string)
	if verifyRS256(tok, pub) == nil {
		t.Fatal("a Graph token verified against the JWKS; Graph tokens must be opaque to clients")
	}
	if h := tokenHeader(t, tok); h["nonce"] == nil {
		t.Fatalf("Graph token header %v has no nonce", h)
	}
	api := e.srv.AddApp(entratest.App{HomeTenantID: e.tenant.ID, Secrets: []string{secret}, AccessTokenVersion: 2})
	_, m = e.postToken(t, e.tenant.ID, url.Values{"grant_type": {"client_credentials"}, "client_id": {api.ClientID},
		"client_secret": {secret}, "scope": {"api://" + api.ClientID + "/.default"}})
	if err := verifyRS256(m["access_token"].(string), pub); err != nil {
		t.Fatalf("API token does not verify: %v", err)
	}
}

// publishedKey reads the tenant's discovery document and its one JWKS key,
// which carries x5t, x5c and issuer as Entra's keys do.
func publishedKey(t *testing.T, e *env) *rsa.PublicKey {
	t.Helper()
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, e, e.srv.Authority(e.tenant.ID)+"/v2.0/.well-known/openid-configuration", &disc)
	if disc.Issuer != e.srv.URL+"/"+e.tenant.ID+"/v2.0" {
		t.Fatalf("issuer %q", disc.Issuer)
	}
	var jwks struct {
		Keys []struct {
			N, E, Kid, X5t, Issuer string
			X5c                    []string
		} `json:"keys"`
	}
	getJSON(t, e, disc.JWKSURI, &jwks)
	if len(jwks.Keys) != 1 {
		t.Fatalf("jwks %+v", jwks)
	}
	k := jwks.Keys[0]
	if k.X5t == "" || len(k.X5c) != 1 || k.Issuer != disc.Issuer {
		t.Fatalf("key lacks x5t, x5c or issuer: %+v", k)
	}
	der, err := base64.StdEncoding.DecodeString(k.X5c[0])
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := base64.RawURLEncoding.DecodeString(k.N)
	ex, _ := base64.RawURLEncoding.DecodeString(k.E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(ex).Int64())}
	if !pub.Equal(cert.PublicKey) {
		t.Fatal("x5c certificate does not hold the key n/e describe")
	}
	return pub
}

func tokenHeader(t *testing.T, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestDiscoveryListsWhatEntraLists: the v2.0 discovery document has Entra's
// fields (https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration),
// and an unknown tenant gets invalid_tenant with AADSTS90002.
func TestDiscoveryListsWhatEntraLists(t *testing.T) {
	e := newEnv(t)
	var d map[string]any
	getJSON(t, e, e.srv.Authority("organizations")+"/v2.0/.well-known/openid-configuration", &d)
	for _, k := range []string{"issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "end_session_endpoint",
		"userinfo_endpoint", "response_modes_supported", "subject_types_supported", "id_token_signing_alg_values_supported",
		"token_endpoint_auth_methods_supported", "claims_supported", "msgraph_host", "cloud_instance_name",
		"tenant_region_scope", "http_logout_supported", "frontchannel_logout_supported"} {
		if d[k] == nil {
			t.Errorf("discovery lacks %s", k)
		}
	}
	if auth := fmt.Sprint(d["token_endpoint_auth_methods_supported"]); strings.Contains(auth, "private_key_jwt") {
		t.Errorf("discovery advertises %s, but client assertions are not implemented", auth)
	}
	if d["issuer"] != e.srv.URL+"/{tenantid}/v2.0" || d["code_challenge_methods_supported"] != nil {
		t.Errorf("issuer %v; Entra lists no code_challenge_methods_supported, got %v", d["issuer"], d["code_challenge_methods_supported"])
	}
	var bad map[string]any
	getJSON(t, e, e.srv.Authority("nowhere.example")+"/v2.0/.well-known/openid-configuration", &bad)
	if bad["error"] != "invalid_tenant" || bad["error_codes"].([]any)[0] != float64(90002) {
		t.Fatalf("unknown tenant: %v", bad)
	}
}

// TestServerSpeaksHTTP2: like login.microsoftonline.com, the emulator offers
// HTTP/2 by ALPN, and Client() and clones of its transport use it, so a herd
// of concurrent token requests shares one TLS connection, as against Entra.
func TestServerSpeaksHTTP2(t *testing.T) {
	e := newEnv(t)
	clone := &http.Client{Transport: e.srv.Client().Transport.(*http.Transport).Clone()}
	for name, c := range map[string]*http.Client{"Client": e.srv.Client(), "clone": clone} {
		resp, err := c.Get(e.srv.Authority("organizations") + "/v2.0/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.TLS == nil || resp.TLS.NegotiatedProtocol != "h2" {
			t.Errorf("%s: answered over %s; want HTTP/2 negotiated as h2", name, resp.Proto)
		}
	}
}

func getJSON(t *testing.T, e *env, u string, v any) {
	t.Helper()
	resp, err := e.srv.Client().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func verifyRS256(tok string, pub *rsa.PublicKey) error {
	_, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	return err
}

func TestAddPanicsOnBadSetup(t *testing.T) {
	srv := entratest.NewServer()
	defer srv.Close()
	tests := []struct {
		name string
		fn   func()
	}{
		{"user in unknown tenant", func() { srv.AddUser(entratest.User{TenantID: "x", UPN: "a@b"}) }},
		{"app in unknown tenant", func() { srv.AddApp(entratest.App{HomeTenantID: "x"}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("want panic")
				}
			}()
			tc.fn()
		})
	}
}

// BenchmarkSignInAtScale measures the emulator as users' load tests use it:
// with a directory of n users, each signed in once (seeding, reported as
// seed-ns/user), a full sign-in (authorize with login_hint, code, token
// redemption) costs the same whatever n is (ns/op).
func BenchmarkSignInAtScale(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			e := newEnv(b)
			e.srv.GrantDelegated(e.tenant.ID, e.app.ClientID, "", "User.Read")
			h := e.srv.Handler()
			upns := make([]string, n)
			start := time.Now()
			for i := range n {
				upns[i] = fmt.Sprintf("u%d@contoso.example", i)
				e.srv.AddUser(entratest.User{TenantID: e.tenant.ID, UPN: upns[i]})
				if code := benchAuthorize(b, e, h, upns[i]); code == "" {
					b.Fatal("no code")
				}
			}
			seed := float64(time.Since(start).Nanoseconds()) / float64(n)
			i := 0
			for b.Loop() {
				code := benchAuthorize(b, e, h, upns[i%n])
				form := url.Values{"grant_type": {"authorization_code"}, "client_id": {e.app.ClientID}, "client_secret": {secret},
					"code": {code}, "redirect_uri": {e.redirect}}
				req := httptest.NewRequest(http.MethodPost, "/"+e.tenant.ID+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("token: %d %s", rec.Code, rec.Body)
				}
				i += 7919 // a prime stride: users all over the directory
			}
			b.ReportMetric(seed, "seed-ns/user")
		})
	}
}

// benchAuthorize signs upn in (login_hint, consent already granted) and
// returns the code.
func benchAuthorize(b *testing.B, e *env, h http.Handler, upn string) string {
	q := e.authorizeQuery("User.Read")
	q.Set("login_hint", upn)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+e.tenant.ID+"/oauth2/v2.0/authorize?"+q.Encode(), nil))
	loc, err := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusFound || err != nil {
		b.Fatalf("authorize: %d %s", rec.Code, rec.Body)
	}
	return loc.Query().Get("code")
}

func TestCountsAndDiscovery(t *testing.T) {
	e := newEnv(t)
	for _, tenant := range []string{e.tenant.ID, e.tenant.Domain, "organizations", "common"} {
		resp, err := e.srv.Client().Get(e.srv.Authority(tenant) + "/v2.0/.well-known/openid-configuration")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("discovery %s: %v", tenant, err)
		}
		resp.Body.Close()
	}
	if n := e.srv.Count(entratest.EndpointDiscovery); n != 4 {
		t.Fatalf("discovery count %d", n)
	}
	e.srv.ResetCounts()
	if n := e.srv.Count(entratest.EndpointDiscovery); n != 0 {
		t.Fatalf("after reset %d", n)
	}
}

// TestStandardRelyingParty drives a relying party built only from
// golang.org/x/oauth2 and github.com/coreos/go-oidc/v3, written for any
// OpenID provider, through the emulator: discovery, code + PKCE, id_token
// verification against the JWKS, refresh with no scope, client credentials,
// and errors as *oauth2.RetrieveError.
func TestStandardRelyingParty(t *testing.T) {
	e := newEnv(t)
	ctx := oidc.ClientContext(context.Background(), e.srv.Client())
	provider, err := oidc.NewProvider(ctx, e.srv.URL+"/"+e.tenant.ID+"/v2.0")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	cfg := oauth2.Config{ClientID: e.app.ClientID, ClientSecret: secret, Endpoint: provider.Endpoint(),
		RedirectURL: e.redirect, Scopes: []string{oidc.ScopeOpenID, oidc.ScopeOfflineAccess, "profile", "User.Read"}}

	verifier := oauth2.GenerateVerifier()
	page, err := e.browser(e.user.UPN, entratest.Accept).Get(cfg.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-1")))
	if err != nil || page.URL.Query().Get("state") != "st-1" {
		t.Fatalf("authorize: %v %v", err, page.URL)
	}
	tok, err := cfg.Exchange(ctx, page.URL.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange (x/oauth2 sends no scope): %v", err)
	}
	idv := provider.Verifier(&oidc.Config{ClientID: e.app.ClientID, Now: e.clk.Now})
	raw, _ := tok.Extra("id_token").(string)
	id, err := idv.Verify(ctx, raw)
	if err != nil || id.Nonce != "n-1" {
		t.Fatalf("id_token: %v (nonce %q)", err, id.Nonce)
	}
	var claims struct {
		Oid string `json:"oid"`
	}
	if err := id.Claims(&claims); err != nil || claims.Oid != e.user.ObjectID {
		t.Fatalf("id_token claims %+v %v", claims, err)
	}
	if _, err := idv.Verify(ctx, tok.AccessToken); err == nil {
		t.Fatal("a Graph access token verified as an id_token; it must be opaque")
	}

	tok.Expiry = e.clk.Now().Add(-1) // x/oauth2 refreshes with no scope
	refreshed, err := cfg.TokenSource(ctx, tok).Token()
	if err != nil || refreshed.AccessToken == tok.AccessToken {
		t.Fatalf("refresh: %v", err)
	}

	cc := clientcredentials.Config{ClientID: e.app.ClientID, ClientSecret: secret, TokenURL: provider.Endpoint().TokenURL,
		Scopes: []string{"https://graph.microsoft.com/.default"}}
	if _, err := cc.Token(ctx); err != nil {
		t.Fatalf("client credentials: %v", err)
	}

	_, err = cfg.Exchange(ctx, "not-a-code", oauth2.VerifierOption(verifier))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || !strings.HasPrefix(re.ErrorDescription, "AADSTS") || re.ErrorURI == "" {
		t.Fatalf("bad code: %#v", err)
	}
	bad := cc
	bad.ClientSecret = "wrong"
	if _, err := bad.Token(ctx); !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Fatalf("bad secret: %#v", err)
	}
}
