package entratest

import (
	"encoding/json"
	"slices"
	"strings"
)

// claimsRequest is what the emulator reads from a "claims" parameter
// (OpenID Connect Core 5.5): access_token.acrs, the authentication context a
// Conditional Access challenge asks for, and access_token.xms_cc, the client
// capabilities MSAL sends when an app declares them (cp1: the client handles
// claims challenges)
// (https://learn.microsoft.com/entra/identity-platform/app-resilience-continuous-access-evaluation,
// https://learn.microsoft.com/entra/identity-platform/claims-challenge).
type claimsRequest struct {
	acrs, caps []string
}

type claimValues struct {
	Value  string   `json:"value"`
	Values []string `json:"values"`
}

func (c claimValues) all() []string {
	out := slices.Clone(c.Values)
	if c.Value != "" {
		out = append(out, c.Value)
	}
	return out
}

// parseClaims reads a claims parameter; "" is an empty request.
func parseClaims(claims string) (claimsRequest, *entraError) {
	if claims == "" {
		return claimsRequest{}, nil
	}
	var req struct {
		AccessToken struct {
			Acrs  claimValues `json:"acrs"`
			XmsCC claimValues `json:"xms_cc"`
		} `json:"access_token"`
	}
	if len(claims) > 4096 || json.Unmarshal([]byte(claims), &req) != nil {
		return claimsRequest{}, errInvalidRequest("The claims parameter is not valid JSON.")
	}
	return claimsRequest{acrs: req.AccessToken.Acrs.all(), caps: req.AccessToken.XmsCC.all()}, nil
}

// capable reports whether the client declared cp1: only such clients get
// Graph's claims challenges; Entra keeps the others on short-lived tokens.
func capable(caps []string) bool {
	return slices.ContainsFunc(caps, func(c string) bool { return strings.EqualFold(c, "cp1") })
}
