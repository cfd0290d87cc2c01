package middleware_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// reissuer is a transport between MSAL and the emulator standing for a
// tampered token endpoint whose key the app trusts: it serves its own key at
// the JWKS endpoint and re-signs each ID token after edit changed its claims
// (and maybe the token answer's client_info). With resign false it edits the
// ID token but keeps the emulator's signature.
type reissuer struct {
	base   http.RoundTripper
	key    *rsa.PrivateKey
	resign bool
	edit   func(claims map[string]any, answer map[string]any)
}

func (x *reissuer) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/discovery/v2.0/keys") && x.resign {
		return jsonResponse(r, map[string]any{"keys": []any{map[string]any{"kty": "RSA", "kid": "reissuer", "use": "sig",
			"n": b64(x.key.N.Bytes()), "e": b64(big.NewInt(int64(x.key.E)).Bytes())}}}), nil
	}
	resp, err := x.base.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/token") || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	defer resp.Body.Close()
	var answer map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return nil, err
	}
	if raw, _ := answer["id_token"].(string); raw != "" {
		answer["id_token"] = x.reissue(raw, answer)
	}
	return jsonResponse(r, answer), nil
}

func (x *reissuer) reissue(raw string, answer map[string]any) string {
	parts := strings.Split(raw, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	claims := map[string]any{}
	_ = json.Unmarshal(payload, &claims)
	x.edit(claims, answer)
	if !x.resign {
		edited, _ := json.Marshal(claims)
		return parts[0] + "." + b64(edited) + "." + parts[2]
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(claims))
	tok.Header["kid"] = "reissuer"
	signed, err := tok.SignedString(x.key)
	if err != nil {
		panic(err)
	}
	return signed
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func jsonResponse(r *http.Request, v any) *http.Response {
	body, _ := json.Marshal(v)
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r}
}

// TestIDTokenChecks: a sign-in whose ID token (or client_info) a tampered
// token endpoint changed ends on an error page, signed out; clock skew of a
// few minutes is tolerated.
func TestIDTokenChecks(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := func(c map[string]any) int64 { return int64(c["iat"].(float64)) }
	tests := []struct {
		name   string
		resign bool
		edit   func(c, answer map[string]any)
		ok     bool
	}{
		{"re-signed unchanged", true, func(c, _ map[string]any) {}, true},
		{"expired two minutes ago (skew)", true, func(c, _ map[string]any) { c["exp"] = now(c) - 120 }, true},
		{"issued two minutes ahead (skew)", true, func(c, _ map[string]any) { c["iat"], c["nbf"] = now(c)+120, now(c)+120 }, true},
		{"foreign issuer", true, func(c, _ map[string]any) { c["iss"] = "https://evil.example/" + c["tid"].(string) + "/v2.0" }, false},
		{"other audience", true, func(c, _ map[string]any) { c["aud"] = "00000000-0000-0000-0000-000000000001" }, false},
		{"expired", true, func(c, _ map[string]any) { c["exp"] = now(c) - 3600 }, false},
		{"not yet valid", true, func(c, _ map[string]any) { c["nbf"] = now(c) + 3600 }, false},
		{"issued in the future", true, func(c, _ map[string]any) { c["iat"] = now(c) + 3600 }, false},
		{"tid swapped", true, func(c, _ map[string]any) { c["tid"] = "11111111-1111-1111-1111-111111111111" }, false},
		{"tid and iss swapped", true, func(c, _ map[string]any) {
			other := "11111111-1111-1111-1111-111111111111"
			c["iss"], c["tid"] = strings.Replace(c["iss"].(string), c["tid"].(string), other, 1), other
		}, false},
		{"nonce removed", true, func(c, _ map[string]any) { delete(c, "nonce") }, false},
		{"client_info of another user", true, func(c, a map[string]any) {
			a["client_info"] = b64([]byte(`{"uid":"22222222-2222-2222-2222-222222222222","utid":"` + c["tid"].(string) + `"}`))
		}, false},
		{"guest of another home tenant", true, func(c, a map[string]any) {
			home := "33333333-3333-3333-3333-333333333333"
			c["idp"] = "https://sts.windows.net/" + home + "/"
			a["client_info"] = b64([]byte(`{"uid":"44444444-4444-4444-4444-444444444444","utid":"` + home + `"}`))
		}, true},
		{"client_info home tenant a piece of a guest's idp", true, func(c, a map[string]any) {
			c["idp"] = "https://sts.windows.net/33333333-3333-3333-3333-333333333333/"
			a["client_info"] = b64([]byte(`{"uid":"22222222-2222-2222-2222-222222222222","utid":"sts.windows.net"}`))
		}, false},
		{"client_info without home tenant, guest's idp", true, func(c, a map[string]any) {
			c["idp"] = "https://sts.windows.net/33333333-3333-3333-3333-333333333333/"
			a["client_info"] = b64([]byte(`{"uid":"22222222-2222-2222-2222-222222222222","utid":""}`))
		}, false},
		{"wids spoofed, signature kept", false, func(c, _ map[string]any) { c["wids"] = []string{"62e90394-69f5-4237-9190-012177145e10"} }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.cfg.HTTPClient = &http.Client{Transport: &reissuer{base: e.idp.Client().Transport, key: key, resign: tc.resign, edit: tc.edit}}
			a := e.serveApp(t, nil)
			b := e.browser(e.user, entratest.Accept)
			p := e.get(t, b, "/profile")
			if tc.ok && p.StatusCode != http.StatusOK {
				t.Fatalf("%d, want 200%s\n%s", p.StatusCode, trail(p), e.logs)
			}
			if !tc.ok && (p.StatusCode != http.StatusBadRequest || !strings.Contains(e.logs.String(), "ID token is not valid")) {
				t.Fatalf("%d, want 400 (ID token refused)%s", p.StatusCode, trail(p))
			}
			if acct, ok := e.browserAccount(a.mw, b); ok != tc.ok {
				t.Errorf("signed in %v (as %q), want %v", ok, acct.Username, tc.ok)
			}
		})
	}
}

// hungKeys is a transport whose first fetch of the ID token keys hangs until
// its request is cancelled (or the test ends).
type hungKeys struct {
	base  http.RoundTripper
	hung  atomic.Int32
	ended chan struct{}
}

func (h *hungKeys) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/discovery/v2.0/keys") && h.hung.Add(1) == 1 {
		select {
		case <-r.Context().Done():
			return nil, r.Context().Err()
		case <-h.ended:
			return nil, io.ErrUnexpectedEOF
		}
	}
	return h.base.RoundTrip(r)
}

// TestHungKeyFetchEnds: a fetch of Entra's signing keys that hangs fails the
// sign-in waiting on it, and the next sign-in fetches the keys again and
// succeeds (go-oidc fetches with a context of its own, so the fetch needs a
// timeout; otherwise every later sign-in waits on the hung one).
func TestHungKeyFetchEnds(t *testing.T) {
	e := newEnv(t)
	h := &hungKeys{base: e.idp.Client().Transport, ended: make(chan struct{})}
	t.Cleanup(func() { close(h.ended) })
	e.cfg.HTTPClient = &http.Client{Transport: h}
	a := e.serveApp(t, nil)
	middleware.SetKeyFetchTimeout(a.mw, 50*time.Millisecond)
	if p := e.get(t, e.browser(e.user, entratest.Accept), "/profile"); p.StatusCode == http.StatusOK {
		t.Fatalf("sign-in verified its ID token while the keys hung%s", trail(p))
	}
	if p := e.get(t, e.browser(e.user, entratest.Accept), "/profile"); p.StatusCode != http.StatusOK {
		t.Fatalf("sign-in after a hung key fetch: %d%s", p.StatusCode, trail(p))
	}
	if n := h.hung.Load(); n < 2 {
		t.Errorf("keys fetched %d times, want a second fetch after the hung one", n)
	}
}
