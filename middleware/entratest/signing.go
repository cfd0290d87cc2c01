package entratest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signingKey is the emulator's token signing key, published in the JWKS with
// its self-signed certificate, as Entra publishes its keys
// (https://learn.microsoft.com/entra/identity-platform/signing-key-rollover).
type signingKey struct {
	id   string
	priv *rsa.PrivateKey
	cert []byte // DER
}

// newSigningKey generates a 2048-bit RSA key and a certificate for it.
func newSigningKey() (*signingKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("entratest: generate signing key: %w", err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "accounts.entratest.invalid"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, fmt.Errorf("entratest: create signing certificate: %w", err)
	}
	sum := sha1.Sum(der) // x5t is the SHA-1 thumbprint (RFC 7517 4.8); Entra's kid equals it
	return &signingKey{id: b64(sum[:]), priv: priv, cert: der}, nil
}

// sign serializes claims as a compact RS256 JWT with typ, alg, kid and x5t,
// as Entra's tokens carry.
func (k *signingKey) sign(claims map[string]any) (string, error) {
	return k.signWithHeader(claims, nil)
}

// signOpaque signs a token the way Microsoft Graph's tokens are signed: the
// header carries a nonce, and the signature covers the header with the nonce
// replaced by its SHA-256, so a third party checking the JWT against the JWKS
// fails, while the resource (which knows the scheme) succeeds. Microsoft says
// clients must treat such tokens as opaque
// (https://learn.microsoft.com/entra/identity-platform/access-tokens#validate-tokens).
func (k *signingKey) signOpaque(claims map[string]any) (string, error) {
	nonce := randToken(32)
	signed, err := k.signWithHeader(claims, map[string]any{"nonce": nonceHash(nonce)})
	if err != nil {
		return "", err
	}
	parts := strings.SplitN(signed, ".", 2)
	h, err := k.header(map[string]any{"nonce": nonce})
	if err != nil {
		return "", err
	}
	return h + "." + parts[1], nil
}

func nonceHash(nonce string) string {
	sum := sha256.Sum256([]byte(nonce))
	return hex.EncodeToString(sum[:])
}

// header encodes the JOSE header with extra fields (encoding/json sorts map
// keys, so the encoding is deterministic, which signOpaque relies on).
func (k *signingKey) header(extra map[string]any) (string, error) {
	h := map[string]any{"typ": "JWT", "alg": "RS256", "kid": k.id, "x5t": k.id}
	for n, v := range extra {
		h[n] = v
	}
	b, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("entratest: token header: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func (k *signingKey) signWithHeader(claims map[string]any, extra map[string]any) (string, error) {
	hdr, err := k.header(extra)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("entratest: token claims: %w", err)
	}
	input := hdr + "." + b64(body)
	sig, err := jwt.SigningMethodRS256.Sign(input, k.priv)
	if err != nil {
		return "", fmt.Errorf("entratest: sign token: %w", err)
	}
	return input + "." + b64(sig), nil
}

var errBadToken = errors.New("entratest: invalid token")

// verify checks an RS256 token signed by this key, either plainly or with
// signOpaque's nonce scheme, and returns its claims. It checks no claim.
func (k *signingKey) verify(raw string) (jwt.MapClaims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errBadToken
	}
	var hdr map[string]any
	b, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || json.Unmarshal(b, &hdr) != nil {
		return nil, errBadToken
	}
	if nonce, ok := hdr["nonce"].(string); ok {
		h, err := k.header(map[string]any{"nonce": nonceHash(nonce)})
		if err != nil {
			return nil, errBadToken
		}
		raw = h + "." + parts[1] + "." + parts[2]
	}
	claims := jwt.MapClaims{}
	_, err = jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation()).
		ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return &k.priv.PublicKey, nil })
	if err != nil {
		return nil, errBadToken
	}
	return claims, nil
}

// jwks is the key set document: Entra's keys carry kty, use, kid, x5t, n, e,
// x5c and issuer
// (https://learn.microsoft.com/entra/identity-platform/access-tokens#validate-the-signature).
func (k *signingKey) jwks(issuer string) map[string]any {
	pub := k.priv.PublicKey
	jwk := map[string]any{
		"kty": "RSA", "use": "sig", "kid": k.id, "x5t": k.id,
		"n":      b64(pub.N.Bytes()),
		"e":      b64(big.NewInt(int64(pub.E)).Bytes()),
		"x5c":    []string{base64.StdEncoding.EncodeToString(k.cert)},
		"issuer": issuer,
	}
	return map[string]any{"keys": []any{jwk}}
}
