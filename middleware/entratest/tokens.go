package entratest

import (
	"crypto/sha256"
	"encoding/json"
	"slices"
	"strconv"
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

// issue is what a delegated token request asks for.
type issue struct {
	scope      string
	acrs, caps []string
	nonce      string
	clientInfo bool // client_info=1 was sent
}

// userTokens issues delegated tokens for one resource after checking consent:
// every requested scope must be granted to the user or to AllPrincipals, else
// invalid_grant / 65001 / suberror consent_required. Caller holds s.mu.
func (s *Server) userTokens(a *App, u *User, in issue) (*tokenResponse, *entraError) {
	refs, e := s.parseScopes(in.scope)
	if e != nil {
		return nil, e
	}
	resources := resourcesOf(refs)
	if len(resources) > 1 {
		return nil, errMultipleResources(in.scope)
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
	return s.mintUserTokens(a, u, refs, res, have, in)
}

// mintUserTokens signs the access and id tokens and builds the response.
// Caller holds s.mu.
func (s *Server) mintUserTokens(a *App, u *User, refs []scopeRef, res string, have []string, in issue) (*tokenResponse, *entraError) {
	now, ttl := s.clock(), s.accessLifetime()
	scp := tokenScopes(refs, res, have)
	at := s.accessClaims(res, u.TenantID, a.ClientID, now, ttl)
	at["oid"], at["sub"], at["name"] = u.ObjectID, pairwise(u.ObjectID, a.ClientID), u.DisplayName
	at["scp"], at["idtyp"] = strings.Join(scp, " "), "user"
	if at["ver"] == "1.0" {
		at["upn"], at["unique_name"] = u.UPN, u.UPN
	} else {
		at["preferred_username"] = u.UPN
	}
	if len(in.acrs) > 0 {
		at["acrs"] = slices.Clone(in.acrs)
	}
	if capable(in.caps) {
		at["xms_cc"] = []string{"cp1"}
	}
	resp := &tokenResponse{TokenType: "Bearer", ExpiresIn: int(ttl.Seconds()), ExtExpiresIn: int(ttl.Seconds()),
		Scope: responseScope(refs, res, have)}
	if in.clientInfo {
		resp.ClientInfo = clientInfo(u)
	}
	var err error
	if resp.AccessToken, err = s.signAccess(res, at); err != nil {
		return nil, errServer(500)
	}
	if hasOIDC(refs, "openid") {
		if resp.IDToken, err = s.key.sign(s.idClaims(a, u, refs, in.nonce, now)); err != nil {
			return nil, errServer(500)
		}
	}
	if hasOIDC(refs, "offline_access") {
		resp.RefreshToken = s.newRefreshToken(a, u, in.scope, in.acrs, now)
	}
	return resp, nil
}

// tokenScopes is an access token's scp: the scopes granted for res and, in
// Graph's tokens, the OpenID Connect scopes openid, profile and email that
// were requested (they are Graph's permissions: a Graph token reads
// "scp": "openid profile User.Read email", e.g. in
// https://github.com/christian-posta/entra-agent-id-agw/blob/main/PART-2.md),
// which Graph's UserInfo endpoint requires. offline_access is never listed.
func tokenScopes(refs []scopeRef, res string, have []string) []string {
	scp := slices.Clone(have)
	if res != GraphAppID {
		return scp
	}
	for _, r := range refs {
		if r.OIDC && r.Value != "offline_access" && !slices.Contains(scp, r.Value) {
			scp = append(scp, r.Value)
		}
	}
	return scp
}

// idClaims are the v2.0 id_token's claims
// (https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference):
// aio and rh are opaque values Entra adds for its own use.
func (s *Server) idClaims(a *App, u *User, refs []scopeRef, nonce string, now time.Time) map[string]any {
	c := s.v2Claims(a.ClientID, u.TenantID, "", now, time.Hour)
	c["oid"], c["sub"], c["tid"] = u.ObjectID, pairwise(u.ObjectID, a.ClientID), u.TenantID
	c["name"], c["preferred_username"] = u.DisplayName, u.UPN
	c["aio"], c["rh"] = randToken(48), "0."+randToken(32)
	if nonce != "" {
		c["nonce"] = nonce
	}
	if hasOIDC(refs, "email") {
		c["email"] = u.UPN
	}
	return c
}

// v2Claims are the claims every v2.0 token has.
func (s *Server) v2Claims(aud, tid, azp string, now time.Time, ttl time.Duration) map[string]any {
	c := map[string]any{
		"aud": aud, "iss": s.URL + "/" + tid + "/v2.0", "tid": tid, "ver": "2.0",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(), "uti": randToken(16),
	}
	if azp != "" {
		c["azp"], c["azpacr"] = azp, "1"
	}
	return c
}

// accessClaims are an access token's base claims for resource res, in the
// token version the resource accepts
// (https://learn.microsoft.com/entra/identity-platform/access-tokens#token-formats):
// Microsoft Graph accepts v1.0 (iss https://sts.windows.net/{tid}/, appid,
// appidacr, ver 1.0); an app's API follows its accessTokenAcceptedVersion,
// v1.0 by default, whose aud is the Application ID URI. Caller holds s.mu.
func (s *Server) accessClaims(res, tid, client string, now time.Time, ttl time.Duration) map[string]any {
	if res != GraphAppID {
		if a := s.app(res); a != nil && a.AccessTokenVersion == 2 {
			return s.v2Claims(res, tid, client, now, ttl)
		}
	}
	aud := GraphAppID
	if res != GraphAppID {
		aud = "api://" + res
	}
	return map[string]any{
		"aud": aud, "iss": "https://sts.windows.net/" + tid + "/", "tid": tid, "ver": "1.0",
		"appid": client, "appidacr": "1", "aio": randToken(48),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(), "uti": randToken(16),
	}
}

// signAccess signs an access token: Graph's with a header nonce that makes
// them unverifiable for anyone but Graph, others plainly.
func (s *Server) signAccess(res string, claims map[string]any) (string, error) {
	if res == GraphAppID {
		return s.key.signOpaque(claims)
	}
	return s.key.sign(claims)
}

// accessLifetime is the lifetime of a new access token: SetTokenLifetime's
// when set, else Entra's default, "a random value ranging between 60-90
// minutes (75 minutes on average)"
// (https://learn.microsoft.com/entra/identity-platform/configurable-token-lifetimes#access-tokens),
// drawn from the emulator's clock and the number of tokens issued so far, so
// that a test making the same requests on the same clock sees the same
// lifetimes. Caller holds s.mu.
func (s *Server) accessLifetime() time.Duration {
	s.issued++
	if s.accessTTL > 0 {
		return s.accessTTL
	}
	sum := sha256.Sum256([]byte(s.clock().UTC().Format(time.RFC3339Nano) + "|" + strconv.Itoa(s.issued)))
	spread := int64(sum[0])<<8 | int64(sum[1])
	return time.Hour + time.Duration(spread%1801)*time.Second
}

// newRefreshToken stores a refresh token for u and a. A grant (user and
// client) keeps its newest refreshTokensPerGrant tokens; older ones are
// dropped, so memory grows with the directory, not with the number of
// refreshes, and one busy user never costs the others their tokens.
// Caller holds s.mu.
func (s *Server) newRefreshToken(a *App, u *User, scope string, acrs []string, now time.Time) string {
	s.prune(now)
	if len(s.st.rts) > maxRefreshTokens {
		clear(s.st.rts) // a backstop for huge directories
		clear(s.st.grantRTs)
	}
	rt := "1.R" + randToken(64)
	s.st.rts[rt] = &refreshToken{ClientID: a.ClientID, UserOID: u.ObjectID, TenantID: u.TenantID,
		Scope: scope, Acrs: slices.Clone(acrs), Expires: now.Add(refreshLifetime)}
	k := rtGrant{user: strings.ToLower(u.ObjectID), client: strings.ToLower(a.ClientID)}
	held := append(s.st.grantRTs[k], rt)
	if len(held) > refreshTokensPerGrant {
		delete(s.st.rts, held[0])
		held = slices.Delete(held, 0, 1)
	}
	s.st.grantRTs[k] = held
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

// appToken issues a client_credentials access token; its oid is the object
// id (a GUID) of the app's service principal in the tenant. Caller holds s.mu.
func (s *Server) appToken(a *App, t *Tenant, res string, roles []string) (*tokenResponse, *entraError) {
	now, ttl := s.clock(), s.accessLifetime()
	c := s.accessClaims(res, t.ID, a.ClientID, now, ttl)
	spOID := spObjectID(t.ID, a.ClientID)
	c["oid"], c["sub"], c["idtyp"] = spOID, spOID, "app"
	if len(roles) > 0 {
		c["roles"] = roles
	}
	tok, err := s.signAccess(res, c)
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
