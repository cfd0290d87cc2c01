package msalcache

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// idTokenDecodes reports that the ID token MSAL's readIDToken would pick for
// q, if any, decodes the way AuthResultFromStorage requires: an ID token
// MSAL cannot decode fails the whole silent call. Several candidates, or one
// under another environment, are a miss.
func (d *document) idTokenDecodes(q Query) bool {
	var found *entry
	for i := range d.idt {
		e := &d.idt[i]
		if !e.sameAccount(q) {
			continue
		}
		if found != nil || string(e.text[fEnv]) != q.Environment || needsUpgrade(e.key) {
			return false
		}
		found = e
	}
	return found == nil || decodesAsIDToken(found.str(fSecret))
}

// idTokenClaims has the fields, tags and types of MSAL's
// accesstokens.IDToken, into which MSAL decodes an ID token's payload with
// encoding/json: decoding into it fails exactly when MSAL's does.
type idTokenClaims struct {
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

// decodesAsIDToken follows accesstokens.IDToken.UnmarshalJSON on the
// stored secret.
func decodesAsIDToken(secret string) bool {
	if secret == "null" {
		return true
	}
	parts := strings.Split(strings.Trim(secret, `"`), ".")
	if len(parts) < 2 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var c idTokenClaims
	return json.Unmarshal(payload, &c) == nil
}
