package entratest

import (
	"crypto/sha256"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// tokenResponse is the v2.0 token endpoint's success JSON.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// userTokens issues delegated tokens for one resource after checking consent:
// every requested scope must be granted to the user or to AllPrincipals, else
// invalid_grant / 65001 / suberror consent_required. Caller holds s.mu.
func (s *Server) userTokens(a *App, u *User, scope string, acrs []string, nonce string) (*tokenResponse, *entraError) {
	refs, e := s.parseScopes(scope)
	if e != nil {
		return nil, e
	}
	resources := resourcesOf(refs)
	if len(resources) > 1 {
		return nil, errMultipleResources(scope)
	}
	res := GraphAppID
	if len(resources) == 1 {
		res = resources[0]
	}
	have := s.granted(u.TenantID, a.ClientID, res, u.ObjectID)
	var explicit []string
	hasDefault := false
	for _, r := range refs {
		switch {
		case r.OIDC:
		case r.Value == ".default":
			hasDefault = true
		default:
			explicit = append(explicit, r.Value)
		}
	}
	if len(missing(explicit, have)) > 0 || (hasDefault && len(have) == 0) {
		return nil, errConsentRequired(a)
	}
	return s.mintUserTokens(a, u, refs, res, have, acrs, nonce)
}

// mintUserTokens signs the access and id tokens and builds the response.
// Caller holds s.mu.
func (s *Server) mintUserTokens(a *App, u *User, refs []scopeRef, res string, have, acrs []string, nonce string) (*tokenResponse, *entraError) {
	now, ttl := s.clock(), s.accessTTL
	scp := slices.Clone(have)
	if len(scp) == 0 {
		for _, r := range refs {
			if r.OIDC && r.Value != "offline_access" {
				scp = append(scp, r.Value)
			}
		}
	}
	at := s.baseClaims(res, u.TenantID, a.ClientID, now, ttl)
	at["oid"], at["sub"], at["name"], at["preferred_username"] = u.ObjectID, pairwise(u.ObjectID, a.ClientID), u.DisplayName, u.UPN
	at["scp"], at["idtyp"] = strings.Join(scp, " "), "user"
	if len(acrs) > 0 {
		at["acrs"] = slices.Clone(acrs)
	}
	resp := &tokenResponse{TokenType: "Bearer", ExpiresIn: int(ttl.Seconds()), ExtExpiresIn: int(ttl.Seconds()),
		Scope: responseScope(refs, res, have), ClientInfo: clientInfo(u)}
	var err error
	if resp.AccessToken, err = s.key.Sign(at); err != nil {
		return nil, errServer(500)
	}
	if hasOIDC(refs, "openid") {
		if resp.IDToken, err = s.key.Sign(s.idClaims(a, u, refs, nonce, now)); err != nil {
			return nil, errServer(500)
		}
	}
	if hasOIDC(refs, "offline_access") {
		resp.RefreshToken = s.newRefreshToken(a, u, acrs, now)
	}
	return resp, nil
}

func (s *Server) idClaims(a *App, u *User, refs []scopeRef, nonce string, now time.Time) map[string]any {
	c := s.baseClaims(a.ClientID, u.TenantID, "", now, time.Hour)
	c["oid"], c["sub"], c["tid"] = u.ObjectID, pairwise(u.ObjectID, a.ClientID), u.TenantID
	c["name"], c["preferred_username"] = u.DisplayName, u.UPN
	if nonce != "" {
		c["nonce"] = nonce
	}
	if hasOIDC(refs, "email") {
		c["email"] = u.UPN
	}
	return c
}

// baseClaims are the claims every v2.0 token has.
func (s *Server) baseClaims(aud, tid, azp string, now time.Time, ttl time.Duration) map[string]any {
	c := map[string]any{
		"aud": aud, "iss": s.URL + "/" + tid + "/v2.0", "tid": tid, "ver": "2.0",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(), "uti": randToken(16),
	}
	if azp != "" {
		c["azp"], c["azpacr"] = azp, "1"
	}
	return c
}

func (s *Server) newRefreshToken(a *App, u *User, acrs []string, now time.Time) string {
	if len(s.st.rts) > 100000 {
		s.prune(now)
	}
	rt := "1.R" + randToken(64)
	s.st.rts[rt] = &refreshToken{ClientID: a.ClientID, UserOID: u.ObjectID, TenantID: u.TenantID,
		Acrs: slices.Clone(acrs), Expires: now.Add(refreshLifetime)}
	return rt
}

// responseScope is the "scope" of the response: the requested scopes as sent
// (MSAL Go reports any requested scope missing here as declined), then the
// other granted scopes of the resource in the same form. Entra returns all
// granted scopes of the resource; echoing ".default" verbatim is our choice so
// that MSAL Go does not see it as declined.
func responseScope(refs []scopeRef, res string, have []string) string {
	var out []string
	long := res != GraphAppID
	for _, r := range refs {
		out = appendUnique(out, r.Raw)
		long = long || (r.Long && !r.OIDC)
	}
	for _, v := range have {
		name := v
		if long {
			name = resourceURI(res) + "/" + v
		}
		if !slices.ContainsFunc(refs, func(r scopeRef) bool { return r.Resource == res && strings.EqualFold(r.Value, v) }) {
			out = appendUnique(out, name)
		}
	}
	return strings.Join(out, " ")
}

func resourceURI(res string) string {
	if res == GraphAppID {
		return graphURI
	}
	return "api://" + res
}

// appToken issues a client_credentials access token. Caller holds s.mu.
func (s *Server) appToken(a *App, t *Tenant, res string, roles []string) (*tokenResponse, *entraError) {
	now, ttl := s.clock(), s.accessTTL
	c := s.baseClaims(res, t.ID, a.ClientID, now, ttl)
	spOID := pairwise(t.ID, a.ClientID) // stable stand-in for the service principal's object id
	c["oid"], c["sub"], c["idtyp"] = spOID, spOID, "app"
	if len(roles) > 0 {
		c["roles"] = roles
	}
	tok, err := s.key.Sign(c)
	if err != nil {
		return nil, errServer(500)
	}
	return &tokenResponse{TokenType: "Bearer", ExpiresIn: int(ttl.Seconds()), ExtExpiresIn: int(ttl.Seconds()), AccessToken: tok}, nil
}

// clientInfo is base64url (no padding) {"uid":oid,"utid":tid}; MSAL builds the
// home account id "uid.utid" from it.
func clientInfo(u *User) string {
	b, _ := json.Marshal(map[string]string{"uid": u.ObjectID, "utid": u.TenantID})
	return b64(b)
}

// pairwise derives Entra's app-specific sub from the object id and client id.
func pairwise(oid, clientID string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(oid) + "|" + strings.ToLower(clientID)))
	return b64(sum[:])[:43]
}
