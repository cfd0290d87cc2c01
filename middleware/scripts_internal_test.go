package middleware

import (
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"
)

// unquote reads the quoted-string value of the parameter name in an
// authentication challenge as RFC 9110 section 5.6.4 has clients read it
// (a backslash takes the next byte literally).
func unquote(t *testing.T, challenge, name string) string {
	t.Helper()
	_, rest, ok := strings.Cut(challenge, " "+name+`="`)
	if !ok {
		t.Fatalf("no %s parameter in %q", name, challenge)
	}
	var b strings.Builder
	for i := 0; i < len(rest); i++ {
		switch c := rest[i]; c {
		case '"':
			return b.String()
		case '\\':
			i++
			if i < len(rest) {
				b.WriteByte(rest[i])
			}
		default:
			if c < 0x20 && c != '\t' || c == 0x7f {
				t.Fatalf("control character %#x in the quoted-string of %s: %q", c, name, challenge)
			}
			b.WriteByte(c)
		}
	}
	t.Fatalf("unterminated %s in %q", name, challenge)
	return ""
}

// TestChallengeScopeIsAQuotedString: the scope parameter of both challenges
// (RFC 6750's Bearer and the middleware's own) reads back, as an HTTP
// client parses a quoted-string, as the route's scopes: a scope name with
// characters outside ASCII (obs-text) arrives as it is, not Go-escaped.
func TestChallengeScopeIsAQuotedString(t *testing.T) {
	m := testMiddleware(t, false)
	scopes := []string{"api://11111111-2222-3333-4444-555555555555/Lire.Données", "api://11111111-2222-3333-4444-555555555555/x\u200by"}
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "https://app.example/api/mail", nil)
	m.scriptChallenge(w, r, scopes, m.SignInURL("/", scopes...), ErrNotSignedIn, "")
	got := w.Header().Values("WWW-Authenticate")
	if len(got) != 2 {
		t.Fatalf("WWW-Authenticate %q, want the Consentry and the Bearer challenges", got)
	}
	for _, c := range got {
		if v := unquote(t, c, "scope"); v != strings.Join(scopes, " ") {
			t.Errorf("scope of %q reads %q, want %q", c, v, strings.Join(scopes, " "))
		}
		if v := unquote(t, c, "realm"); v != "app.example" {
			t.Errorf("realm of %q reads %q", c, v)
		}
	}
}

// TestQuotedString: quotes and backslashes escaped, UTF-8 kept, control
// characters left out.
func TestQuotedString(t *testing.T) {
	for in, want := range map[string]string{
		"Mail.Read":   `"Mail.Read"`,
		`a"b\c`:       `"a\"b\\c"`,
		"é\u200b":     "\"é\u200b\"",
		"a\x00\nb\tc": "\"ab\tc\"",
	} {
		if got := quotedString(in); got != want {
			t.Errorf("quotedString(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBearerClaimsChallenge: a script whose user must sign in again for a
// claims request (Conditional Access, a claims challenge) gets Entra's
// claims challenge format: error="insufficient_claims" and the claims in
// base64 (https://learn.microsoft.com/entra/identity-platform/claims-challenge).
func TestBearerClaimsChallenge(t *testing.T) {
	m := testMiddleware(t, false)
	claims := `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "https://app.example/api/mail", nil)
	m.scriptChallenge(w, r, []string{"Mail.Read"}, m.signInWithClaims("/", []string{"Mail.Read"}, claims), ErrClaimsChallenge, claims)
	var bearer string
	for _, c := range w.Header().Values("WWW-Authenticate") {
		if strings.HasPrefix(c, "Bearer ") {
			bearer = c
		}
	}
	if unquote(t, bearer, "error") != "insufficient_claims" {
		t.Errorf("Bearer challenge %q: want error=\"insufficient_claims\"", bearer)
	}
	if got, err := base64.StdEncoding.DecodeString(unquote(t, bearer, "claims")); err != nil || string(got) != claims {
		t.Errorf("claims of %q decode to %q (%v), want %s", bearer, got, err, claims)
	}
}
