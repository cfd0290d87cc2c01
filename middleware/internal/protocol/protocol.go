package protocol

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
)

// Random returns n random bytes encoded as unpadded base64url.
func Random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewVerifier returns a PKCE code verifier: 32 random bytes, 43 base64url characters.
func NewVerifier() string { return Random(32) }

// Challenge returns the S256 code challenge of a PKCE verifier (RFC 7636 §4.2).
func Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// AuthorizeParams are the authorize-request parameters MSAL's AuthCodeURL lacks.
type AuthorizeParams struct {
	State, Nonce, Verifier string
	Prompt                 string // optional: "login", "consent", "select_account", "none"
}

// AppendAuthorizeParams adds state, nonce, the PKCE challenge (S256),
// response_mode=query and, when set, prompt to the authorize URL raw.
func AppendAuthorizeParams(raw string, p AuthorizeParams) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse authorize URL: %w", err)
	}
	q := u.Query()
	q.Set("state", p.State)
	q.Set("nonce", p.Nonce)
	q.Set("code_challenge", Challenge(p.Verifier))
	q.Set("code_challenge_method", "S256")
	q.Set("response_mode", "query")
	if p.Prompt != "" {
		q.Set("prompt", p.Prompt)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}
