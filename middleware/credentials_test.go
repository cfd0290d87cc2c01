package middleware_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/golang-jwt/jwt/v5"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// selfSigned returns a certificate valid from an hour ago for a day, its key,
// and the PEM file holding both.
func selfSigned(t *testing.T) (*x509.Certificate, *rsa.PrivateKey, string) {
	return selfSignedValid(t, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
}

// selfSignedValid is selfSigned for a certificate valid from notBefore to notAfter.
func selfSignedValid(t *testing.T, notBefore, notAfter time.Time) (*x509.Certificate, *rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "consentry app"},
		NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	path := filepath.Join(t.TempDir(), "app.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	b = append(b, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})...)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key, path
}

// secretlessApp registers an app without secrets whose registration trusts
// a certificate and a federated identity credential, and serves env's
// routes with a middleware built by cfg from e.cfg.
func (e *env) secretlessApp(t *testing.T) (entratest.App, *x509.Certificate, string) {
	t.Helper()
	reg := e.idp.AddApp(entratest.App{HomeTenantID: e.tenant.ID, MultiTenant: true, RedirectURIs: []string{e.srv.URL + "/auth/callback"}})
	cert, _, pemPath := selfSigned(t)
	e.idp.AddCertificate(reg.ClientID, cert)
	return reg, cert, pemPath
}

func (e *env) serveWith(t *testing.T, cfg middleware.Config) {
	t.Helper()
	mw := e.newMiddleware(t, cfg)
	e.setHandler(e.routes(mw))
}

// TestCertificateCredential: an app without secrets signs users in with a
// certificate (client assertion); one whose certificate is not registered
// ends on a page with Entra's AADSTS700027, one whose registered certificate
// has expired on a page with AADSTS1000502.
func TestCertificateCredential(t *testing.T) {
	e := newEnv(t)
	reg, _, pemPath := e.secretlessApp(t)
	for _, tc := range []struct {
		name   string
		pem    string
		status int
		body   string
	}{
		{"registered", pemPath, http.StatusOK, "page /profile"},
		{"not registered", func() string { _, _, p := selfSigned(t); return p }(), http.StatusBadRequest, "AADSTS700027"},
		{"registered, expired", func() string { // Entra refuses a registered certificate past its NotAfter
			c, _, p := selfSignedValid(t, e.clock.Now().Add(-48*time.Hour), e.clock.Now().Add(-time.Hour))
			e.idp.AddCertificate(reg.ClientID, c)
			return p
		}(), http.StatusBadRequest, "AADSTS1000502"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := os.ReadFile(tc.pem)
			if err != nil {
				t.Fatal(err)
			}
			certs, key, err := confidential.CertFromPEM(b, "")
			if err != nil {
				t.Fatal(err)
			}
			cfg := e.cfg
			cfg.ClientID = reg.ClientID
			if cfg.Credential, err = confidential.NewCredFromCert(certs, key); err != nil {
				t.Fatal(err)
			}
			e.serveWith(t, cfg)
			p := e.get(t, e.browser(e.user, entratest.Accept), "/profile")
			if p.StatusCode != tc.status || !strings.Contains(p.Body, tc.body) {
				t.Errorf("%d %s, want %d with %q%s", p.StatusCode, p.Body, tc.status, tc.body, trail(p))
			}
		})
	}
}

// TestWorkloadIdentityFromEnv: ConfigFromEnv with AZURE_FEDERATED_TOKEN_FILE
// signs users in with the token in the file, read again at each token
// request; a token the registration does not trust ends on a page (70021).
func TestWorkloadIdentityFromEnv(t *testing.T) {
	e := newEnv(t)
	reg, _, _ := e.secretlessApp(t)
	issuer, _ := rsa.GenerateKey(rand.Reader, 2048)
	e.idp.AddFederatedCredential(reg.ClientID, entratest.FederatedCredential{Issuer: "https://oidc.cluster.example",
		Subject: "system:serviceaccount:web:app", Key: &issuer.PublicKey})
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeToken := func(sub string) {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": "https://oidc.cluster.example", "sub": sub,
			"aud": entratest.DefaultFederatedAudience, "exp": time.Now().Add(time.Hour).Unix()}).SignedString(issuer)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(tokenFile, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(middleware.EnvTenantID, "organizations")
	t.Setenv(middleware.EnvClientID, reg.ClientID)
	t.Setenv(middleware.EnvFederatedTokenFile, tokenFile)
	t.Setenv(middleware.EnvAuthorityHost, e.idp.URL)
	t.Setenv(middleware.EnvClientSecret, "")
	t.Setenv(middleware.EnvCertificatePath, "")
	cfg := e.cfg
	cfg.Authority, cfg.ClientID, cfg.Credential = "", "", confidential.Credential{}
	cfg, err := middleware.ConfigFromEnv(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.serveWith(t, cfg)
	writeToken("system:serviceaccount:web:app")
	if p := e.get(t, e.browser(e.user, entratest.Accept), "/profile"); p.StatusCode != http.StatusOK {
		t.Fatalf("trusted token: %d %s%s", p.StatusCode, p.Body, trail(p))
	}
	writeToken("system:serviceaccount:web:intruder")
	if p := e.get(t, e.browser(e.addUser("megan"), entratest.Accept), "/profile"); p.StatusCode != http.StatusBadRequest ||
		!strings.Contains(p.Body, "AADSTS70021") {
		t.Errorf("untrusted token: %d %s, want 400 naming AADSTS70021", p.StatusCode, p.Body)
	}
}
