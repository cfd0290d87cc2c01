package msalcache

import (
	"encoding/json"
	"testing"
)

// msalIDToken has the fields, tags and types of MSAL Go v1.10.1's
// accesstokens.IDToken.
type msalIDToken struct {
	PreferredUsername string `json:"preferred_username,omitempty"`
	GivenName         string `json:"given_name,omitempty"`
	FamilyName        string `json:"family_name,omitempty"`
	MiddleName        string `json:"middle_name,omitempty"`
	Name              string `json:"name,omitempty"`
	Oid               string `json:"oid,omitempty"`
	TenantID          string `json:"tid,omitempty"`
	Subject           string `json:"sub,omitempty"`
	UPN               string `json:"upn,omitempty"`
	Email             string `json:"email,omitempty"`
	AlternativeID     string `json:"alternative_id,omitempty"`
	Issuer            string `json:"iss,omitempty"`
	Audience          string `json:"aud,omitempty"`
	ExpirationTime    int64  `json:"exp,omitempty"`
	IssuedAt          int64  `json:"iat,omitempty"`
	NotBefore         int64  `json:"nbf,omitempty"`
	RawToken          string

	AdditionalFields map[string]interface{}
}

var claimSeeds = []string{
	`{"aud":"c","iss":"https://login.microsoftonline.com/t/v2.0","exp":1900000000,"iat":1,"nbf":-0,"oid":"o","tid":"t","ver":"2.0","roles":["a"],"x":{"y":null}}`,
	`null`, `{"EXP":1}`, `{"exp":"1"}`, `{"exp":1.0}`, `{"exp":99999999999999999999}`, `{"Name":3}`,
	`{"additionalFields":{"a":1}}`, `{"AdditionalFields":[1]}`, `{"rawtoken":null}`, `[]`, `{"exp":1} x`,
}

func TestClaimsDecodeAgreesWithEncodingJSON(t *testing.T) {
	want := map[string]bool{claimSeeds[0]: true, `null`: true, `{"EXP":1}`: true, `{"additionalFields":{"a":1}}`: true, `{"rawtoken":null}`: true}
	for _, p := range claimSeeds {
		var v msalIDToken
		std := json.Unmarshal([]byte(p), &v) == nil
		if got := claimsDecode(new(scanner), []byte(p)); got != std || got != want[p] {
			t.Errorf("claimsDecode(%s) = %v; encoding/json: %v; want %v", p, got, std, want[p])
		}
	}
}

// FuzzClaimsDecode: claimsDecode never accepts a payload MSAL's decoding
// rejects.
func FuzzClaimsDecode(f *testing.F) {
	for _, p := range claimSeeds {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		var v msalIDToken
		if claimsDecode(new(scanner), p) && json.Unmarshal(p, &v) != nil {
			t.Fatalf("claimsDecode accepted %q; encoding/json rejects it", p)
		}
	})
}
