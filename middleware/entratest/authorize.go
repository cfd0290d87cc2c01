package entratest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// flow is one interactive transaction (authorize or admin consent) between
// the first request and the redirect back to the app.
type flow struct {
	ID, Kind                            string // Kind: "authorize" or "adminconsent"
	Seg                                 tenantSeg
	ClientID, RedirectURI, Scope, State string
	Nonce, Challenge, Method, Prompt    string
	LoginHint, DomainHint               string
	Refs                                []scopeRef
	Acrs                                []string
	UserOID, SessionID                  string
	Pending                             []pendingScope
	Created                             time.Time
}

// pendingScope is a permission shown on a consent page.
type pendingScope struct {
	Resource string
	Perm     Permission
	Role     bool
}

// session is the emulator's browser session (Entra's ESTSAUTH cookie).
type session struct {
	ID    string
	Users []string // signed-in users' object ids, most recent first
}

var validPrompts = []string{"", "none", "login", "consent", "select_account"}

// handleAuthorize serves /{tenant}/oauth2/v2.0/authorize (response_type=code,
// response_mode=query). Errors before the redirect URI is validated are shown
// on a page and never redirected.
// https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		s.errorPage(w, r, newErr(405, "invalid_request", 900561, "The authorize endpoint of entratest accepts GET requests only."))
		return
	}
	f, e, redirectable := s.newAuthorizeFlow(r.PathValue("tenant"), r.URL.Query())
	switch {
	case e != nil && redirectable:
		s.redirectError(w, r, f, e)
	case e != nil:
		s.errorPage(w, r, e)
	default:
		s.proceed(w, r, f)
	}
}

// newAuthorizeFlow validates the request. redirectable reports whether the
// error may be sent to f.RedirectURI (which is then registered).
func (s *Server) newAuthorizeFlow(tenant string, q url.Values) (f *flow, e *entraError, redirectable bool) {
	f, e = s.newFlow("authorize", tenant, q)
	if e != nil {
		return f, e, false
	}
	if rm := q.Get("response_mode"); rm != "" && rm != "query" {
		return f, errInvalidRequest("entratest supports response_mode=query only; got '" + rm + "'."), false
	}
	if q.Get("response_type") != "code" {
		return f, newErr(400, "unsupported_response_type", 900021, "The response_type '%s' is not supported by entratest; use 'code'.", q.Get("response_type")), true
	}
	f.Nonce, f.Challenge, f.Method = q.Get("nonce"), q.Get("code_challenge"), q.Get("code_challenge_method")
	f.Prompt, f.LoginHint, f.DomainHint = q.Get("prompt"), q.Get("login_hint"), q.Get("domain_hint")
	if e := checkAuthorizeParams(f); e != nil {
		return f, e, true
	}
	acrs, e := parseClaimsAcrs(q.Get("claims"))
	if e != nil {
		return f, e, true
	}
	f.Acrs = acrs
	s.mu.Lock()
	defer s.mu.Unlock()
	f.Refs, e = s.parseScopes(f.Scope)
	return f, e, true
}

func checkAuthorizeParams(f *flow) *entraError {
	if f.Challenge != "" && f.Method == "" {
		f.Method = "plain"
	}
	if f.Method != "" && f.Method != "S256" && f.Method != "plain" {
		return errInvalidRequest("The code_challenge_method '" + f.Method + "' is not supported. Use S256.")
	}
	if f.Method != "" && (len(f.Challenge) < 43 || len(f.Challenge) > 128) {
		return errInvalidRequest("The code_challenge must be 43 to 128 characters long.")
	}
	if !slices.Contains(validPrompts, f.Prompt) {
		return errInvalidRequest("Invalid value for prompt: '" + f.Prompt + "'.")
	}
	if len(f.Nonce) > 1024 || len(f.State) > 4096 || len(f.LoginHint) > 256 {
		return errInvalidRequest("A request parameter is too long.")
	}
	return nil
}

// newFlow validates tenant, client and redirect URI, the part shared with
// admin consent. Any error it returns must be shown on a page.
func (s *Server) newFlow(kind, tenant string, q url.Values) (*flow, *entraError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	s.prune(now)
	seg, e := s.resolveTenant(tenant)
	if e != nil {
		return nil, e
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		return nil, errMissingParam("client_id")
	}
	a := s.app(clientID)
	if a == nil || (seg.Tenant != nil && !a.MultiTenant && !strings.EqualFold(a.HomeTenantID, seg.Tenant.ID)) {
		return nil, errUnknownClient(clientID, tenant)
	}
	uri := q.Get("redirect_uri")
	if uri == "" {
		return nil, errMissingParam("redirect_uri")
	}
	if !slices.Contains(a.RedirectURIs, uri) {
		return nil, errRedirectMismatch(uri, a.ClientID)
	}
	if len(s.st.flows) > 10000 {
		clear(s.st.flows) // bound memory under abuse
	}
	f := &flow{ID: randToken(24), Kind: kind, Seg: seg, ClientID: a.ClientID, RedirectURI: uri,
		Scope: q.Get("scope"), State: q.Get("state"), Created: now}
	s.st.flows[f.ID] = f
	return f, nil
}

// parseClaimsAcrs extracts access_token.acrs values from a claims request.
func parseClaimsAcrs(claims string) ([]string, *entraError) {
	if claims == "" {
		return nil, nil
	}
	var req struct {
		AccessToken struct {
			Acrs struct {
				Value  string   `json:"value"`
				Values []string `json:"values"`
			} `json:"acrs"`
		} `json:"access_token"`
	}
	if len(claims) > 4096 || json.Unmarshal([]byte(claims), &req) != nil {
		return nil, errInvalidRequest("The claims parameter is not valid JSON.")
	}
	out := slices.Clone(req.AccessToken.Acrs.Values)
	if v := req.AccessToken.Acrs.Value; v != "" {
		out = append(out, v)
	}
	return out, nil
}

// proceed signs the user in from the session, or shows the sign-in page.
func (s *Server) proceed(w http.ResponseWriter, r *http.Request, f *flow) {
	sess := s.sessionFrom(r)
	s.mu.Lock()
	u := s.pickUser(f, sess)
	if u != nil {
		f.SessionID = s.signIn(w, r, u).ID
	}
	s.mu.Unlock()
	switch {
	case u != nil:
		s.afterSignIn(w, r, f, u)
	case f.Prompt == "none":
		s.redirectError(w, r, f, errLoginRequired())
	default:
		s.signInPage(w, r, f, sess, "")
	}
}

// pickUser returns the user to continue as without a sign-in page, or nil.
// Caller holds s.mu.
func (s *Server) pickUser(f *flow, sess *session) *User {
	if f.Prompt == "login" || f.Prompt == "select_account" {
		return nil
	}
	var inSession []*User
	if sess != nil {
		for _, oid := range sess.Users {
			if u := s.user(oid); u != nil && f.Seg.allows(u) && s.domainOK(f, u) {
				inSession = append(inSession, u)
			}
		}
	}
	if f.LoginHint != "" {
		hinted := s.userByUPN(f.LoginHint)
		if hinted != nil && (f.Prompt != "none" || slices.Contains(inSession, hinted)) && s.domainOK(f, hinted) {
			return hinted // no passwords in the emulator: a hint for a known user signs in
		}
		return nil
	}
	if len(inSession) > 0 {
		return inSession[0]
	}
	return nil
}

// domainOK applies domain_hint: the user must belong to the hinted tenant.
func (s *Server) domainOK(f *flow, u *User) bool {
	if f.DomainHint == "" {
		return true
	}
	t := s.tenantByDomain(f.DomainHint)
	return t == nil || strings.EqualFold(t.ID, u.TenantID)
}

// afterSignIn decides between a code, the consent page, "Need admin approval"
// and the admin-consent page.
func (s *Server) afterSignIn(w http.ResponseWriter, r *http.Request, f *flow, u *User) {
	s.mu.Lock()
	a := s.app(f.ClientID)
	if a == nil || !f.Seg.allows(u) || (!a.MultiTenant && !strings.EqualFold(a.HomeTenantID, u.TenantID)) {
		name := f.Seg.Raw
		if a != nil && !a.MultiTenant {
			name = a.HomeTenantID
		}
		s.mu.Unlock()
		s.errorPage(w, r, errForeignUser(u, name, orEmpty(a)))
		return
	}
	f.UserOID = u.ObjectID
	if f.Kind == "adminconsent" {
		s.mu.Unlock()
		s.adminConsentStep(w, r, f, u)
		return
	}
	miss, show, needsAdmin := s.consentNeeds(f, a, u)
	f.Pending = show
	s.mu.Unlock()
	switch {
	case len(show) == 0:
		s.issueCode(w, r, f, u)
	case f.Prompt == "none":
		// Guessed: the authorize docs list interaction_required ("An additional
		// authentication step or consent is required") and not consent_required;
		// OpenID Connect Core 3.1.2.6 defines consent_required for this case, and
		// Entra is reported to send it with AADSTS65001. Middleware code should
		// treat both alike.
		s.redirectError(w, r, f, newErr(400, "consent_required", 65001, "%s", errConsentRequired(a).Message))
	case needsAdmin:
		s.pageAdminApproval(w, r, f, a, u, miss)
	default:
		s.pageConsent(w, r, f, a, u, show)
	}
}

func orEmpty(a *App) *App {
	if a == nil {
		return &App{}
	}
	return a
}

// consentNeeds computes the missing permissions, the ones to show (all
// requested ones with prompt=consent) and whether an admin is needed.
// Caller holds s.mu.
func (s *Server) consentNeeds(f *flow, a *App, u *User) (miss, show []pendingScope, needsAdmin bool) {
	t := s.tenant(u.TenantID)
	for _, res := range resourcesOf(f.Refs) {
		rs := s.lookupResource(res)
		if rs == nil {
			continue
		}
		want := s.wanted(a, f.Refs, res)
		have := s.granted(u.TenantID, a.ClientID, res, u.ObjectID)
		for _, v := range want {
			p, _ := rs.scope(v)
			ps := pendingScope{Resource: res, Perm: p}
			if len(missing([]string{v}, have)) > 0 {
				miss = append(miss, ps)
				needsAdmin = needsAdmin || (!u.Admin && (p.AdminOnly || t == nil || t.UserConsentDisabled))
			}
			if f.Prompt == "consent" && (u.Admin || !p.AdminOnly) {
				show = append(show, ps)
			}
		}
	}
	if f.Prompt != "consent" || needsAdmin {
		show = miss
	}
	return miss, show, needsAdmin
}
