package tokencache_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tokenServer is a tiny Entra-like token endpoint over TLS, enough to drive a
// real MSAL Go confidential client: OpenID discovery and a token endpoint
// that redeems "code-<user>" and refresh tokens it issued. Users are
// identified by name; their uid is "uid-<name>" in tenant testTenant.
type tokenServer struct {
	*httptest.Server
	expiresIn atomic.Int64 // seconds; access token lifetime
	calls     atomic.Int64 // token endpoint calls
	mu        sync.Mutex
	serial    int
	refresh   map[string]string // refresh token -> user
}

const testTenant = "tenant-1"

func newTokenServer(t *testing.T) *tokenServer {
	ts := &tokenServer{refresh: map[string]string{}}
	ts.expiresIn.Store(3600)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", ts.discovery)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", ts.token)
	ts.Server = httptest.NewTLSServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) authority() string { return ts.URL + "/" + testTenant }

func (ts *tokenServer) discovery(w http.ResponseWriter, r *http.Request) {
	base := ts.URL + "/" + r.PathValue("tenant")
	writeJSON(w, http.StatusOK, map[string]string{
		"authorization_endpoint": base + "/oauth2/v2.0/authorize",
		"token_endpoint":         base + "/oauth2/v2.0/token",
		"issuer":                 ts.URL + "/" + testTenant + "/v2.0",
	})
}

func (ts *tokenServer) token(w http.ResponseWriter, r *http.Request) {
	ts.calls.Add(1)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	user, ok := ts.userFor(r.PostForm)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	}
	writeJSON(w, http.StatusOK, ts.issue(user, r.PostForm.Get("scope"), r.PostForm.Get("client_id")))
}

// userFor returns the user a code or refresh token belongs to.
func (ts *tokenServer) userFor(f map[string][]string) (string, bool) {
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	switch get("grant_type") {
	case "authorization_code":
		user, ok := strings.CutPrefix(get("code"), "code-")
		return user, ok && user != ""
	case "refresh_token":
		ts.mu.Lock()
		defer ts.mu.Unlock()
		user, ok := ts.refresh[get("refresh_token")]
		return user, ok
	}
	return "", false
}

func (ts *tokenServer) issue(user, scope, clientID string) map[string]any {
	ts.mu.Lock()
	ts.serial++
	n := ts.serial
	rt := fmt.Sprintf("rt-%s-%d", user, n)
	ts.refresh[rt] = user
	ts.mu.Unlock()
	now := time.Now().Unix()
	return map[string]any{
		"token_type":    "Bearer",
		"access_token":  fmt.Sprintf("at-%s-%d", user, n),
		"refresh_token": rt,
		"expires_in":    ts.expiresIn.Load(),
		"scope":         scope,
		"client_info":   b64(fmt.Sprintf(`{"uid":"uid-%s","utid":%q}`, user, testTenant)),
		"id_token": "eyJhbGciOiJub25lIn0." + b64(fmt.Sprintf(
			`{"iss":%q,"aud":%q,"oid":"uid-%s","tid":%q,"sub":"sub-%s","preferred_username":"%s@example.com","name":%q,"iat":%d,"exp":%d}`,
			ts.URL+"/"+testTenant+"/v2.0", clientID, user, testTenant, user, user, user, now, now+3600)) + ".",
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// homeAccountID is MSAL's partition key for user in tokenServer's tenant.
func homeAccountID(user string) string { return "uid-" + user + "." + testTenant }
