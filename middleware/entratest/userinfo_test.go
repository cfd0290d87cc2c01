package entratest_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestUserInfo: Graph's OpenID Connect UserInfo endpoint answers a user's
// Graph token with the same sub as the id_token
// (https://learn.microsoft.com/entra/identity-platform/userinfo).
func TestUserInfo(t *testing.T) {
	e := newEnv(t)
	code, v := e.getCode(t, e.user.UPN, "openid profile email User.Read")
	_, m := e.postToken(t, e.tenant.ID, e.codeForm(code, v, "openid profile email User.Read"))
	var disc struct {
		UserInfo string `json:"userinfo_endpoint"`
	}
	getJSON(t, e, e.srv.Authority(e.tenant.ID)+"/v2.0/.well-known/openid-configuration", &disc)
	req, _ := http.NewRequest(http.MethodGet, disc.UserInfo, nil)
	req.Header.Set("Authorization", "Bearer "+m["access_token"].(string))
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %v", resp.StatusCode, err)
	}
	if info["sub"] != claimsOf(t, m["id_token"].(string))["sub"] || info["name"] != e.user.DisplayName {
		t.Fatalf("userinfo %v", info)
	}
}
