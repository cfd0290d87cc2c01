package entratest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/consentry/consentry/middleware/entratest"
)

// certValid is a self-signed certificate valid from notBefore to notAfter, and its key.
func certValid(t *testing.T, notBefore, notAfter time.Time) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "consentry test"},
		NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// signAssertion signs claims (PS256) with key, naming cert's SHA-256 thumbprint.
func signAssertion(t *testing.T, key *rsa.PrivateKey, cert *x509.Certificate, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodPS256, claims)
	if cert != nil {
		sum := sha256.Sum256(cert.Raw)
		tok.Header["x5t#S256"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unsignedAssertion is claims with alg none, naming cert's SHA-256 thumbprint.
func unsignedAssertion(t *testing.T, cert *x509.Certificate, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodNone, claims)
	sum := sha256.Sum256(cert.Raw)
	tok.Header["x5t#S256"] = base64.RawURLEncoding.EncodeToString(sum[:])
	s, err := tok.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestClientAssertion: the token endpoint authenticates an app by a client
// assertion signed with a registered certificate, or by a federated token,
// and refuses a bad one with Entra's code.
func TestClientAssertion(t *testing.T) {
	e := newEnv(t)
	app := e.srv.AddApp(entratest.App{HomeTenantID: e.tenant.ID, RedirectURIs: []string{e.redirect}})
	now := e.clk.Now() // the emulator's clock: certificates are valid or not by it
	cert, key := certValid(t, now.Add(-time.Hour), now.Add(24*time.Hour))
	other, otherKey := certValid(t, now.Add(-time.Hour), now.Add(24*time.Hour))
	e.srv.AddCertificate(app.ClientID, cert)
	expired, expiredKey := certValid(t, now.Add(-48*time.Hour), now.Add(-time.Minute))
	early, earlyKey := certValid(t, now.Add(time.Hour), now.Add(48*time.Hour))
	e.srv.AddCertificate(app.ClientID, expired)
	e.srv.AddCertificate(app.ClientID, early)
	issuerKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	e.srv.AddFederatedCredential(app.ClientID, entratest.FederatedCredential{Issuer: "https://oidc.cluster.example",
		Subject: "system:serviceaccount:web:app", Key: &issuerKey.PublicKey})
	aud := e.srv.Authority(e.tenant.ID) + "/oauth2/v2.0/token"
	own := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": app.ClientID, "sub": app.ClientID, "aud": aud, "jti": "j1",
			"nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	fed := func(sub, aud string) jwt.MapClaims {
		return jwt.MapClaims{"iss": "https://oidc.cluster.example", "sub": sub, "aud": aud, "exp": now.Add(time.Hour).Unix()}
	}
	tests := []struct {
		name      string
		assertion string
		code      int // AADSTS code; 0: a token
	}{
		{"registered certificate", signAssertion(t, key, cert, own(nil)), 0},
		{"registered certificate past its NotAfter", signAssertion(t, expiredKey, expired, own(nil)), 1000502},
		{"registered certificate before its NotBefore", signAssertion(t, earlyKey, early, own(nil)), 1000502},
		{"unregistered certificate", signAssertion(t, otherKey, other, own(nil)), 700027},
		{"bad signature", signAssertion(t, otherKey, cert, own(nil)), 700027},
		{"wrong audience", signAssertion(t, key, cert, own(func(c jwt.MapClaims) { c["aud"] = "https://elsewhere.example/token" })), 700023},
		{"expired", signAssertion(t, key, cert, own(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() })), 700024},
		{"subject not the client", signAssertion(t, key, cert, own(func(c jwt.MapClaims) { c["sub"] = "someone" })), 700021},
		{"malformed", "not-a-jwt", 50027},
		{"unsigned (alg none)", unsignedAssertion(t, cert, own(nil)), 700027},
		{"no expiry", signAssertion(t, key, cert, own(func(c jwt.MapClaims) { delete(c, "exp") })), 700024},
		{"federated, unsigned", unsignedAssertion(t, cert, fed("system:serviceaccount:web:app", entratest.DefaultFederatedAudience)), 700027},
		{"federated token", signAssertion(t, issuerKey, nil, fed("system:serviceaccount:web:app", entratest.DefaultFederatedAudience)), 0},
		{"federated, other subject", signAssertion(t, issuerKey, nil, fed("system:serviceaccount:web:other", entratest.DefaultFederatedAudience)), 70021},
		{"federated, other audience", signAssertion(t, issuerKey, nil, fed("system:serviceaccount:web:app", "api://other")), 70021},
		{"federated, forged", signAssertion(t, otherKey, nil, fed("system:serviceaccount:web:app", entratest.DefaultFederatedAudience)), 700027},
		{"no credential", "", 7000218},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID},
				"scope": {"https://graph.microsoft.com/.default"}}
			if tc.assertion != "" {
				form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
				form.Set("client_assertion", tc.assertion)
			}
			status, m := e.postToken(t, e.tenant.ID, form)
			codes, _ := m["error_codes"].([]any)
			switch {
			case tc.code == 0 && (status != http.StatusOK || m["access_token"] == nil):
				t.Errorf("status %d %v, want a token", status, m)
			case tc.code != 0 && (status != http.StatusUnauthorized || m["error"] != "invalid_client" ||
				!slices.Contains(codes, any(float64(tc.code)))):
				t.Errorf("status %d %v, want 401 invalid_client AADSTS%d", status, m, tc.code)
			}
		})
	}
}
