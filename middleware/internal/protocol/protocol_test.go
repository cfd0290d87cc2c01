package protocol

import (
	"encoding/base64"
	"net/url"
	"testing"
)

func TestChallengeRFC7636(t *testing.T) {
	// RFC 7636 Appendix B.
	const v = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	if got, want := Challenge(v), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; got != want {
		t.Errorf("Challenge = %q, want %q", got, want)
	}
	if n := len(NewVerifier()); n != 43 {
		t.Errorf("verifier length %d, want 43", n)
	}
	if a, b := Random(16), Random(16); a == b {
		t.Errorf("Random repeats: %q twice", a)
	}
}

func TestAppendAuthorizeParams(t *testing.T) {
	raw := "https://login.test/t/oauth2/v2.0/authorize?client_id=c&scope=User.Read+openid"
	got, err := AppendAuthorizeParams(raw, AuthorizeParams{State: "s", Nonce: "n", Verifier: "v", Prompt: "consent"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(got)
	q := u.Query()
	for k, want := range map[string]string{
		"client_id": "c", "scope": "User.Read openid", "state": "s", "nonce": "n",
		"code_challenge": Challenge("v"), "code_challenge_method": "S256",
		"response_mode": "query", "prompt": "consent",
	} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
}

func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(payload)) + ".sig"
}
