package entratest

import (
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Client authentication without secrets: a client_assertion JWT
// (private_key_jwt) signed with a certificate registered on the app
// (https://learn.microsoft.com/entra/identity-platform/certificate-credentials),
// or a token of another identity provider trusted by a federated identity
// credential (workload identity federation,
// https://learn.microsoft.com/entra/workload-id/workload-identity-federation).
// The codes follow those pages and the Azure SDK's troubleshooting guide
// (https://github.com/Azure/azure-sdk-for-go/blob/main/sdk/azidentity/TROUBLESHOOTING.md):
// 50027 malformed, 700021 iss/sub not the client id, 700023 wrong aud,
// 700024 outside its time range, 1000502 certificate outside its validity
// window, 700027 unknown certificate or bad
// signature, 70021 no matching federated identity credential.

// assertionType is the only client_assertion_type Entra accepts.
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// DefaultFederatedAudience is the audience Entra expects in a federated
// token unless the credential names others.
const DefaultFederatedAudience = "api://AzureADTokenExchange"

// FederatedCredential is a federated identity credential of an app
// registration: tokens from Issuer about Subject, for one of Audiences,
// authenticate the app.
type FederatedCredential struct {
	Issuer    string   // the external token's iss, e.g. a Kubernetes cluster's OIDC issuer URL
	Subject   string   // its sub, e.g. "system:serviceaccount:ns:name"
	Audiences []string // one must be in its aud; default DefaultFederatedAudience
	// Key verifies the token's signature (RS256 or PS256). Entra fetches the
	// issuer's keys from its OpenID discovery document; the emulator takes
	// the key instead (a departure: no discovery of the issuer).
	Key crypto.PublicKey
}

// keyCredentials are an app's certificates and federated identity credentials.
type keyCredentials struct {
	certs     []*x509.Certificate
	federated []FederatedCredential
}

// AddCertificate registers cert (its public key) as a credential of the app
// clientID: client assertions signed with its private key authenticate the
// app, and a request of an app with certificates and no secrets must carry one.
func (s *Server) AddCertificate(clientID string, cert *x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kc := s.keyCreds(clientID)
	kc.certs = append(kc.certs, cert)
}

// AddFederatedCredential adds a federated identity credential to the app clientID.
func (s *Server) AddFederatedCredential(clientID string, fc FederatedCredential) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(fc.Audiences) == 0 {
		fc.Audiences = []string{DefaultFederatedAudience}
	}
	s.keyCreds(clientID).federated = append(s.keyCreds(clientID).federated, fc)
}

// keyCreds returns the key credentials of clientID, creating them. Caller holds s.mu.
func (s *Server) keyCreds(clientID string) *keyCredentials {
	if s.creds == nil {
		s.creds = map[string]*keyCredentials{}
	}
	k := strings.ToLower(clientID)
	if s.creds[k] == nil {
		s.creds[k] = &keyCredentials{}
	}
	return s.creds[k]
}

// assertionAuth authenticates a by client_assertion. handled is false when
// the request carries none and a may use a secret (or is a public client).
// Caller holds s.mu.
func (s *Server) assertionAuth(r *http.Request, a *App, form url.Values, secret string) (handled bool, e *entraError) {
	kc := s.creds[strings.ToLower(a.ClientID)]
	if form.Get("client_assertion") == "" && form.Get("client_assertion_type") == "" {
		if kc != nil && secret == "" && len(a.Secrets) == 0 {
			return true, errNoSecret()
		}
		return false, nil
	}
	if form.Get("client_assertion_type") != assertionType {
		return true, newErr(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_assertion_type'.")
	}
	if kc == nil {
		kc = &keyCredentials{}
	}
	return true, s.checkAssertion(r, a, kc, form.Get("client_assertion"))
}

// checkAssertion verifies a client assertion: signed by a registered
// certificate and issued by the app itself, or trusted by a federated
// identity credential.
func (s *Server) checkAssertion(r *http.Request, a *App, kc *keyCredentials, raw string) *entraError {
	var claims jwt.RegisteredClaims
	tok, _, err := jwt.NewParser().ParseUnverified(raw, &claims)
	if err != nil {
		return errMalformedJWT()
	}
	if claims.Issuer != a.ClientID {
		return s.checkFederated(a, kc, raw, &claims)
	}
	if claims.Subject != a.ClientID {
		return newErr(401, "invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials.")
	}
	if !slices.Contains(claims.Audience, s.URL+r.URL.Path) {
		return newErr(401, "invalid_client", 700023, "Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials.")
	}
	cert, thumb := certFor(kc.certs, tok.Header)
	if cert == nil {
		return newErr(401, "invalid_client", 700027, "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '%s']", thumb)
	}
	if err := s.verifyAssertion(raw, cert.PublicKey); err != nil {
		return err
	}
	// A registered certificate stops authenticating the app outside its own
	// validity window, whatever the portal still lists: AADSTS1000502
	// (handled by Microsoft.Identity.Web's certificate rotation,
	// https://github.com/AzureAD/microsoft-identity-web/issues/2834).
	if now := s.clock(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return newErr(401, "invalid_client", 1000502, "The provided certificate is not within its specified validity window. Certificate thumbprint: '%s', valid from %s to %s.",
			thumb, cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkFederated verifies a token of another identity provider against the
// app's federated identity credentials.
func (s *Server) checkFederated(a *App, kc *keyCredentials, raw string, c *jwt.RegisteredClaims) *entraError {
	for _, fc := range kc.federated {
		if fc.Issuer == c.Issuer && fc.Subject == c.Subject && slices.ContainsFunc(c.Audience, func(aud string) bool {
			return slices.Contains(fc.Audiences, aud)
		}) {
			return s.verifyAssertion(raw, fc.Key)
		}
	}
	return newErr(401, "invalid_client", 70021, "No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'.",
		c.Issuer, c.Subject, strings.Join(c.Audience, ","))
}

// verifyAssertion checks raw's signature (RS256 or PS256) with key and its
// time range, with Entra's five minutes of clock skew.
func (s *Server) verifyAssertion(raw string, key crypto.PublicKey) *entraError {
	_, err := jwt.NewParser(jwt.WithValidMethods([]string{"RS256", "PS256"}), jwt.WithTimeFunc(s.clock),
		jwt.WithLeeway(5*time.Minute), jwt.WithExpirationRequired()).
		ParseWithClaims(raw, &jwt.RegisteredClaims{}, func(*jwt.Token) (any, error) { return key, nil })
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jwt.ErrTokenExpired), errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return newErr(401, "invalid_client", 700024, "Client assertion is not within its valid time range.")
	case errors.Is(err, jwt.ErrTokenMalformed):
		return errMalformedJWT()
	}
	return newErr(401, "invalid_client", 700027, "Client assertion failed signature validation.")
}

// certFor finds the certificate the assertion header names by its SHA-256
// (x5t#S256) or SHA-1 (x5t) thumbprint, in base64url or, as MSAL Go sends
// it, standard base64. It returns the thumbprint it looked for.
func certFor(certs []*x509.Certificate, h map[string]any) (*x509.Certificate, string) {
	for _, name := range []string{"x5t#S256", "x5t"} {
		v, _ := h[name].(string)
		if v == "" {
			continue
		}
		for _, c := range certs {
			sum := thumbprint(c.Raw, name)
			if v == base64.RawURLEncoding.EncodeToString(sum) || strings.TrimRight(v, "=") == base64.RawStdEncoding.EncodeToString(sum) {
				return c, v
			}
		}
		return nil, v
	}
	return nil, ""
}

func thumbprint(der []byte, header string) []byte {
	if header == "x5t" {
		s := sha1.Sum(der)
		return s[:]
	}
	s := sha256.Sum256(der)
	return s[:]
}

func errMalformedJWT() *entraError {
	return newErr(401, "invalid_client", 50027, "JWT token is invalid or malformed.")
}
