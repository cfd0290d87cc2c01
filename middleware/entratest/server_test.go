package entratest_test

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware/entratest"
)

func TestTokensVerifyWithPublishedJWKS(t *testing.T) {
	e := newEnv(t)
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, e, e.srv.Authority(e.tenant.ID)+"/v2.0/.well-known/openid-configuration", &disc)
	if disc.Issuer != e.srv.URL+"/"+e.tenant.ID+"/v2.0" {
		t.Fatalf("issuer %q", disc.Issuer)
	}
	var jwks struct {
		Keys []struct{ N, E, Kid string } `json:"keys"`
	}
	getJSON(t, e, disc.JWKSURI, &jwks)
	if len(jwks.Keys) != 1 {
		t.Fatalf("jwks %+v", jwks)
	}
	n, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].N)
	ex, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].E)
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(ex).Int64())}
	_, m := e.postToken(t, e.tenant.ID, url.Values{"grant_type": {"client_credentials"}, "client_id": {e.app.ClientID},
		"client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}})
	if err := verifyRS256(m["access_token"].(string), pub); err != nil {
		t.Fatal(err)
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
	parts := strings.Split(tok, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	return rsaVerify(pub, parts[0]+"."+parts[1], sig)
}

func TestTokenLatencyHonoursCancellation(t *testing.T) {
	e := newEnv(t)
	e.srv.SetTokenLatency(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.Authority(e.tenant.ID)+"/oauth2/v2.0/token", strings.NewReader("grant_type=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, err := e.srv.Client().Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	e.srv.SetTokenLatency(0)
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
