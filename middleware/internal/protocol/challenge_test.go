package protocol

import (
	"encoding/base64"
	"testing"
)

func TestParseBearer(t *testing.T) {
	claims := `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`
	enc := base64.StdEncoding.EncodeToString([]byte(claims))
	tests := []struct {
		name    string
		header  []string
		ok      bool
		err     string
		claims  string
		decodes bool
	}{
		{"graph", []string{`Bearer realm="", authorization_uri="https://login/common/oauth2/authorize", client_id="00000003", error="insufficient_claims", claims="` + enc + `"`}, true, "insufficient_claims", enc, true},
		{"tokens", []string{`Bearer error=insufficient_claims, claims=` + base64.RawURLEncoding.EncodeToString([]byte(claims))}, true, "insufficient_claims", base64.RawURLEncoding.EncodeToString([]byte(claims)), true},
		{"two headers", []string{`Basic realm="x"`, `bearer error="invalid_token"`}, true, "invalid_token", "", false},
		{"escaped", []string{`Bearer error="a\"b"`}, true, `a"b`, "", false},
		{"none", []string{`Basic realm="x"`}, false, "", "", false},
		{"scheme prefix only", []string{`Bearerx error="x"`}, false, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := ParseBearer(tt.header)
			if ok != tt.ok || c["error"] != tt.err || c["claims"] != tt.claims {
				t.Fatalf("ParseBearer = %v %v", c, ok)
			}
			if got, ok := DecodeClaims(c["claims"]); ok != tt.decodes || (ok && got != claims) {
				t.Errorf("DecodeClaims = %q %v", got, ok)
			}
		})
	}
}

func TestIsAdminAndRoles(t *testing.T) {
	if !IsAdmin(jwt(`{"wids":["62E90394-69F5-4237-9190-012177145E10"]}`)) {
		t.Error("global admin not recognized")
	}
	if IsAdmin(jwt(`{"wids":["b79fbf4d-3ef9-4689-8143-76b194e85509"]}`)) || IsAdmin("x") {
		t.Error("non-admin recognized")
	}
	r, err := Roles(jwt(`{"roles":["User.Read.All"]}`))
	if err != nil || len(r) != 1 || r[0] != "User.Read.All" {
		t.Errorf("Roles = %v %v", r, err)
	}
}
