package entratest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/consentry/consentry/middleware/entratest"
)

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
