package middleware

import (
	"encoding/base64"
	"slices"
	"testing"
)

// jwtOf is an unsigned compact JWT with the given header and payload JSON.
func jwtOf(header, payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(payload)) + ".c2ln"
}

func TestMissingRoles(t *testing.T) {
	// Microsoft Graph's app-only tokens are v1.0, with a header nonce that
	// makes them unverifiable outside Graph; their roles claim reads the same.
	v1 := jwtOf(`{"typ":"JWT","nonce":"abc","alg":"RS256"}`,
		`{"aud":"https://graph.microsoft.com","iss":"https://sts.windows.net/t/","ver":"1.0","appid":"c","roles":["User.Read.All"]}`)
	v2 := jwtOf(`{"typ":"JWT","alg":"RS256"}`, `{"aud":"c2","iss":"https://login.microsoftonline.com/t/v2.0","ver":"2.0","roles":["Orders.Read"]}`)
	none := jwtOf(`{"typ":"JWT","alg":"RS256"}`, `{"ver":"1.0","appid":"c"}`)
	tests := []struct {
		name    string
		want    []string
		raw     string
		missing []string
		err     bool
	}{
		{"v1 Graph token with the role", []string{"user.read.all"}, v1, nil, false},
		{"v1 Graph token without a role", []string{"User.Read.All", "Mail.Read"}, v1, []string{"Mail.Read"}, false},
		{"v2 token", []string{"Orders.Read"}, v2, nil, false},
		{"no roles granted", []string{"User.Read.All"}, none, []string{"User.Read.All"}, false},
		{"opaque token, roles named", []string{"User.Read.All"}, "opaque-token", nil, true},
		{"opaque token, no roles named: not read", nil, "opaque-token", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := missingRoles(tt.want, tt.raw)
			if (err != nil) != tt.err || !slices.Equal(got, tt.missing) {
				t.Errorf("missingRoles = %v, %v; want %v (error %v)", got, err, tt.missing, tt.err)
			}
		})
	}
}
