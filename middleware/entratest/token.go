package entratest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// refreshToken is an issued refresh token. Entra refresh tokens live 90 days
// (sliding) for confidential clients; using one returns a new one, and the old
// one stays valid until its own expiry: Entra does not revoke a refresh token
// on use (https://learn.microsoft.com/entra/identity-platform/refresh-tokens).
// The emulator does the same, so replicas racing on one token both succeed.
type refreshToken struct {
	ClientID, UserOID, TenantID string
	Scope                       string // the scopes of the grant that issued it, used when a refresh sends none
	Acrs                        []string
	Expires                     time.Time
}

const refreshLifetime = 90 * 24 * time.Hour

// maxRefreshTokens bounds the refresh tokens held; beyond it they are all
// dropped (their users sign in again), which keeps memory bounded.
const maxRefreshTokens = 1 << 20

// refreshTokensPerGrant is how many of a grant's newest refresh tokens stay
// redeemable. Entra does not revoke a refresh token when it is used; the
// emulator keeps the newest few, which covers a client retrying with the
// token it just used.
const refreshTokensPerGrant = 8

// rtGrant names the user and client a refresh token was issued to.
type rtGrant struct{ user, client string }

// handleToken serves /{tenant}/oauth2/v2.0/token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.writeTokenError(w, r, errPostOnly())
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		s.writeTokenError(w, r, errInvalidRequest("The request body could not be parsed as a form."))
		return
	}
	if e := s.injectFault(r.Context()); e != nil {
		s.writeTokenError(w, r, e)
		return
	}
	resp, e := s.tokenGrant(r, r.PathValue("tenant"), r.PostForm)
	if e != nil {
		s.log.Info("entratest: token error", "code", e.Code, "grant_type", r.PostForm.Get("grant_type"))
		s.writeTokenError(w, r, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// injectFault applies SetTokenLatency and FailTokenRequests.
func (s *Server) injectFault(ctx context.Context) *entraError {
	s.mu.Lock()
	lat, fail, status := s.latency, s.failN > 0, s.failCode
	if fail {
		s.failN--
	}
	s.mu.Unlock()
	if lat > 0 {
		t := time.NewTimer(lat)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	if fail {
		return errServer(status)
	}
	return nil
}

// tokenGrant dispatches on grant_type with s.mu held.
func (s *Server) tokenGrant(r *http.Request, tenant string, form url.Values) (*tokenResponse, *entraError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seg, e := s.resolveTenant(tenant)
	if e != nil {
		return nil, e
	}
	grant := form.Get("grant_type")
	if grant == "" {
		return nil, errMissingParam("grant_type")
	}
	a, e := s.authenticateClient(r, form, tenant, grant)
	if e != nil {
		return nil, e
	}
	if grant != "client_credentials" && seg.Tenant == nil && !a.MultiTenant {
		return nil, errSingleTenantAtCommon(a)
	}
	switch grant {
	case "authorization_code":
		return s.redeemCode(seg, a, form)
	case "refresh_token":
		return s.redeemRefresh(seg, a, form)
	case "client_credentials":
		return s.clientCredentials(seg, a, form)
	}
	return nil, errUnsupportedGrant(grant)
}

// authenticateClient checks client_id and the secret (client_secret_post or
// client_secret_basic). Apps without secrets are public clients, which must
// not send one (AADSTS700025). A confidential client's request with an Origin
// header comes from a browser, which Entra refuses (AADSTS9002326).
func (s *Server) authenticateClient(r *http.Request, form url.Values, tenant, grant string) (*App, *entraError) {
	id, secret := form.Get("client_id"), form.Get("client_secret")
	if bu, bp, ok := r.BasicAuth(); ok {
		id, secret = orDefault(id, unescape(bu)), orDefault(secret, unescape(bp))
	}
	if id == "" {
		return nil, errMissingParam("client_id")
	}
	a := s.app(id)
	if a == nil {
		return nil, errUnknownClient(id, tenant)
	}
	if handled, e := s.assertionAuth(r, a, form, secret); handled {
		if e != nil {
			return nil, e
		}
		return a, nil
	}
	public := a.PublicClient || len(a.Secrets) == 0
	switch {
	case public && secret != "":
		return nil, errPublicClientSecret()
	case public && grant != "client_credentials":
		return a, nil
	case r.Header.Get("Origin") != "":
		return nil, errCrossOrigin(r.Header.Get("Origin"))
	}
	if secret == "" {
		return nil, errNoSecret()
	}
	for _, want := range a.Secrets {
		if subtle.ConstantTimeCompare([]byte(want), []byte(secret)) == 1 {
			return a, nil
		}
	}
	return nil, errBadSecret(a.ClientID)
}

func orDefault(v, d string) string {
	if v != "" {
		return v
	}
	return d
}

func unescape(v string) string {
	u, err := url.QueryUnescape(v)
	if err != nil {
		return v
	}
	return u
}

// redeemCode implements grant_type=authorization_code. A request error
// (a missing parameter) leaves the code usable, so a client can retry; any
// other failure uses it up. scope is optional: without it the tokens are for
// the scopes of the authorize request. Caller holds s.mu.
func (s *Server) redeemCode(seg tenantSeg, a *App, form url.Values) (*tokenResponse, *entraError) {
	code := form.Get("code")
	if code == "" {
		return nil, errMissingParam("code")
	}
	c := s.st.codes[code]
	switch {
	case c == nil:
		return nil, errMalformed()
	case c.ClientID != a.ClientID:
		return nil, errBadGrant()
	case c.Used:
		return nil, errCodeRedeemed()
	}
	e := checkRedemption(c, form)
	if e != nil && e.Error == "invalid_request" {
		return nil, e
	}
	c.Used = true
	if e != nil {
		return nil, e
	}
	if s.clock().After(c.Expires) {
		return nil, errExpired()
	}
	u := s.user(c.UserOID)
	if u == nil || !seg.allows(u) {
		return nil, newErr(400, "invalid_grant", 700005, "Provided Authorization Code is intended to use against other tenant, thus rejected.")
	}
	cr, e := parseClaims(form.Get("claims"))
	if e != nil {
		return nil, e
	}
	return s.userTokens(a, u, issue{scope: orDefault(form.Get("scope"), refsScope(c.Refs)), acrs: c.Acrs,
		caps: append(slices.Clone(c.Caps), cr.caps...), nonce: c.Nonce, clientInfo: form.Get("client_info") == "1"})
}

// refsScope is a scope parameter naming refs as they were requested.
func refsScope(refs []scopeRef) string {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		out = append(out, r.Raw)
	}
	return strings.Join(out, " ")
}

// checkRedemption checks redirect_uri and the PKCE verifier against the code.
func checkRedemption(c *authCode, form url.Values) *entraError {
	ru := form.Get("redirect_uri")
	if ru == "" {
		return errMissingParam("redirect_uri")
	}
	if ru != c.RedirectURI {
		return errReplyMismatch(ru, c.RedirectURI)
	}
	if c.Challenge == "" {
		return nil
	}
	v := form.Get("code_verifier")
	if v == "" {
		return errMissingParam("code_verifier")
	}
	want := v
	if c.Method == "S256" {
		sum := sha256.Sum256([]byte(v))
		want = b64(sum[:])
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(c.Challenge)) != 1 {
		return errPKCE()
	}
	return nil
}

// redeemRefresh implements grant_type=refresh_token; scope is optional
// (without it: the scopes of the grant that issued the token). When the
// user's Conditional Access rule wants an authentication context the refresh
// token lacks, or the request asks for one, the answer is
// interaction_required with the claims to send to authorize. Caller holds s.mu.
func (s *Server) redeemRefresh(seg tenantSeg, a *App, form url.Values) (*tokenResponse, *entraError) {
	raw := form.Get("refresh_token")
	if raw == "" {
		return nil, errMissingParam("refresh_token")
	}
	rt := s.st.rts[raw]
	switch {
	case rt == nil || rt.ClientID != a.ClientID:
		return nil, errBadGrant()
	case s.clock().After(rt.Expires):
		return nil, errExpired()
	}
	u := s.user(rt.UserOID)
	if u == nil || !seg.allows(u) {
		return nil, errBadGrant()
	}
	cr, e := parseClaims(form.Get("claims"))
	if e != nil {
		return nil, e
	}
	if m := missing(cr.acrs, rt.Acrs); len(m) > 0 {
		return nil, errClaimsChallenge(challengeJSON(m[0]))
	}
	if want, on := s.st.ca[strings.ToLower(u.ObjectID)]; on && !slices.Contains(rt.Acrs, want) {
		return nil, errClaimsChallenge(challengeJSON(want))
	}
	return s.userTokens(a, u, issue{scope: orDefault(form.Get("scope"), rt.Scope), acrs: rt.Acrs, caps: cr.caps,
		clientInfo: form.Get("client_info") == "1"})
}

// clientCredentials implements grant_type=client_credentials: scope must be
// {resource}/.default; the token carries the roles assigned to the app in the
// tenant. With no roles assigned Entra still issues a token, without a roles
// claim, and leaves the check to the API; the emulator does the same.
func (s *Server) clientCredentials(seg tenantSeg, a *App, form url.Values) (*tokenResponse, *entraError) {
	if seg.Tenant == nil {
		return nil, errNoTenantInfo()
	}
	// MSAL adds openid, profile and offline_access; Entra ignores them here.
	var rest []string
	for _, f := range strings.Fields(form.Get("scope")) {
		if _, ok := oidcScopes[strings.ToLower(f)]; !ok {
			rest = append(rest, f)
		}
	}
	if len(rest) == 0 {
		return nil, errMissingParam("scope")
	}
	scope := strings.Join(rest, " ")
	if len(rest) > 1 || !strings.HasSuffix(scope, "/.default") {
		return nil, errClientCredScope(scope)
	}
	ref, e := s.parseScope(scope)
	if e != nil {
		return nil, e
	}
	tid := strings.ToLower(seg.Tenant.ID)
	if !s.st.sps[spKey{tid, a.ClientID}] {
		return nil, errUnknownClient(a.ClientID, seg.Tenant.ID)
	}
	roles := slices.Clone(s.st.roles[roleKey{tid, a.ClientID, ref.Resource}])
	return s.appToken(a, seg.Tenant, ref.Resource, roles)
}
