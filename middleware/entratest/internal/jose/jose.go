package jose

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// ErrInvalid reports a token that is malformed or whose signature does not verify.
var ErrInvalid = errors.New("jose: invalid token")

// Key is an RSA signing key with its key id.
type Key struct {
	ID      string
	private *rsa.PrivateKey
}

// NewKey generates a 2048-bit RSA key.
func NewKey() (*Key, error) {
	pk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("jose: generate key: %w", err)
	}
	sum := sha256.Sum256(pk.N.Bytes())
	return &Key{ID: base64.RawURLEncoding.EncodeToString(sum[:12]), private: pk}, nil
}

// Public returns the public half of the key.
func (k *Key) Public() *rsa.PublicKey { return &k.private.PublicKey }

// Sign serializes claims as a compact RS256 JWT.
func (k *Key) Sign(claims map[string]any) (string, error) {
	header := map[string]string{"typ": "JWT", "alg": "RS256", "kid": k.ID}
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("jose: header: %w", err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("jose: claims: %w", err)
	}
	input := enc(h) + "." + enc(c)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.private, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("jose: sign: %w", err)
	}
	return input + "." + enc(sig), nil
}

// Verify checks the token's RS256 signature with pub and returns its claims.
// It does not check any claim; callers do.
func Verify(token string, pub *rsa.PublicKey) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, ErrInvalid
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if err := decodeJSON(parts[0], &header); err != nil || header.Alg != "RS256" {
		return nil, ErrInvalid
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, ErrInvalid
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return nil, ErrInvalid
	}
	claims := map[string]any{}
	if err := decodeJSON(parts[1], &claims); err != nil {
		return nil, ErrInvalid
	}
	return claims, nil
}

// JWKS returns the key set document for the public key.
func (k *Key) JWKS() map[string]any {
	pub := k.Public()
	jwk := map[string]any{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.ID,
		"n": enc(pub.N.Bytes()),
		"e": enc(big.NewInt(int64(pub.E)).Bytes()),
	}
	return map[string]any{"keys": []any{jwk}}
}

func enc(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func decodeJSON(s string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
