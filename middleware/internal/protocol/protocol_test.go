package protocol

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
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

func TestCheckNonce(t *testing.T) {
	if err := CheckNonce(jwt(`{"nonce":"abc"}`), "abc"); err != nil {
		t.Errorf("good nonce: %v", err)
	}
	for _, tc := range []struct{ tok, want string }{
		{jwt(`{"nonce":"abc"}`), "abd"},
		{jwt(`{}`), "abc"},
		{jwt(`{"nonce":""}`), ""},
		{"not-a-jwt", "abc"},
	} {
		if err := CheckNonce(tc.tok, tc.want); !errors.Is(err, ErrNonce) {
			t.Errorf("CheckNonce(%q, %q) = %v, want ErrNonce", tc.tok, tc.want, err)
		}
	}
}

func TestRoute(t *testing.T) {
	good := [][]string{
		{"User.Read"},
		{"Mail.Read", "https://graph.microsoft.com/User.Read"},
		{"api://1234/access_as_user", "api://1234/Files.Read"},
	}
	for _, s := range good {
		if _, _, err := Route(s); err != nil {
			t.Errorf("Route(%q): %v", s, err)
		}
	}
	bad := [][]string{
		nil, {""}, {"Mail.Read Mail.Send"}, {"openid"}, {"Mail.Read", "mail.read"},
		{"User.Read", "api://1234/access"}, {"api://a/x", "api://b/y"}, {"api://a/"},
	}
	for _, s := range bad {
		if _, _, err := Route(s); err == nil {
			t.Errorf("Route(%q) = nil error", s)
		}
	}
	_, k1, _ := Route([]string{"Mail.Read", "User.Read"})
	_, k2, _ := Route([]string{"user.read", "Mail.Read"})
	if k1 != k2 || strings.ContainsAny(k1, "MU") {
		t.Errorf("keys %q %q", k1, k2)
	}
}

func TestKeyNormalisesGraphSpellings(t *testing.T) {
	tests := []struct {
		name string
		a, b []string
		same bool
	}{
		{"short and URI", []string{"User.Read"}, []string{"https://graph.microsoft.com/User.Read"}, true},
		{"URI upper case", []string{"User.Read"}, []string{"HTTPS://Graph.Microsoft.com/user.read"}, true},
		{"Graph app id", []string{"Mail.Read", "User.Read"}, []string{"00000003-0000-0000-C000-000000000000/User.Read", "mail.read"}, true},
		{"US Government Graph", []string{"User.Read"}, []string{"https://graph.microsoft.us/User.Read"}, true},
		{"China Graph", []string{"Mail.Send"}, []string{"https://microsoftgraph.chinacloudapi.cn/Mail.Send"}, true},
		{"other API", []string{"api://1234/User.Read"}, []string{"User.Read"}, false},
		{"other host", []string{"https://graph.example/User.Read"}, []string{"User.Read"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Key(tc.a) == Key(tc.b); got != tc.same {
				t.Errorf("Key(%q)=%q, Key(%q)=%q, same=%v, want %v", tc.a, Key(tc.a), tc.b, Key(tc.b), got, tc.same)
			}
		})
	}
	if _, _, err := Route([]string{"User.Read", "https://graph.microsoft.com/user.read"}); err == nil {
		t.Error("Route accepted one Graph scope spelled twice")
	}
	if r := Resource("00000003-0000-0000-c000-000000000000/User.Read"); r != GraphResource {
		t.Errorf("Resource(Graph app id scope) = %q", r)
	}
	clean, _, _ := Route([]string{"https://graph.microsoft.com/User.Read"})
	if clean[0] != "https://graph.microsoft.com/User.Read" {
		t.Errorf("Route changed the scope sent to Entra: %q", clean)
	}
}
