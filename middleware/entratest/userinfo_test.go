package entratest_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"testing"
)

// getUserInfo calls UserInfo at endpoint with a bearer token.
func getUserInfo(t *testing.T, e *env, endpoint, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, endpoint, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatalf("userinfo %d: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, info
}

// TestUserInfo: Graph's OpenID Connect UserInfo endpoint, found through
// discovery, answers a user's Graph token with the same sub as the id_token
// (https://learn.microsoft.com/entra/identity-platform/userinfo).
func TestUserInfo(t *testing.T) {
	e := newEnv(t)
	code, v := e.getCode(t, e.user.UPN, "openid profile email User.Read")
	_, m := e.postToken(t, e.tenant.ID, e.codeForm(code, v, "openid profile email User.Read"))
	var disc struct {
		UserInfo string `json:"userinfo_endpoint"`
	}
	getJSON(t, e, e.srv.Authority(e.tenant.ID)+"/v2.0/.well-known/openid-configuration", &disc)
	st, info := getUserInfo(t, e, disc.UserInfo, m["access_token"].(string))
	if st != 200 || info["sub"] != claimsOf(t, m["id_token"].(string))["sub"] || info["name"] != e.user.DisplayName {
		t.Fatalf("userinfo %d %v", st, info)
	}
}

// TestUserInfoScopes: UserInfo needs a token with openid; profile adds the
// name claims and email the email claim
// (https://learn.microsoft.com/entra/identity-platform/userinfo). A Graph
// token lists the OpenID Connect scopes it was requested with in scp.
func TestUserInfoScopes(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		scope  string
		status int
		keys   []string
	}{
		{"User.Read", http.StatusForbidden, nil},
		{"openid User.Read", http.StatusOK, []string{"sub"}},
		{"openid profile User.Read", http.StatusOK, []string{"name", "picture", "sub"}},
		{"openid profile email User.Read", http.StatusOK, []string{"email", "name", "picture", "sub"}},
	} {
		code, v := e.getCode(t, e.user.UPN, tc.scope)
		_, m := e.postToken(t, e.tenant.ID, e.codeForm(code, v, tc.scope))
		st, info := getUserInfo(t, e, e.srv.URL+"/oidc/userinfo", m["access_token"].(string))
		if st != tc.status {
			t.Fatalf("%q: %d %v, want %d", tc.scope, st, info, tc.status)
		}
		if keys := slices.Sorted(maps.Keys(info)); st == http.StatusOK && !slices.Equal(keys, tc.keys) {
			t.Fatalf("%q: userinfo %v, want the claims %v", tc.scope, info, tc.keys)
		}
	}
}
