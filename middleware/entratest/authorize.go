package entratest

import (
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
	ResponseMode                        string // query, fragment or form_post
	Refs                                []scopeRef
	Acrs, Caps                          []string // requested acrs; client capabilities (xms_cc)
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

// validPrompts are the prompt values Entra accepts: the v2.0 ones
// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#request-an-authorization-code)
// and admin_consent, which the v2.0 endpoint still honours for an
// administrator granting the requested permissions for the whole tenant
// (https://learn.microsoft.com/entra/identity-platform/howto-convert-app-to-be-multi-tenant).
var validPrompts = []string{"", "none", "login", "consent", "select_account", "admin_consent"}

// validResponseModes are the response modes the auth code flow documents.
var validResponseModes = []string{"", "query", "fragment", "form_post"}

// handleAuthorize serves /{tenant}/oauth2/v2.0/authorize (response_type=code;
// response_mode query, fragment or form_post). Errors before the redirect URI
// is validated are shown on a page and never redirected.
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
	if f.ResponseMode = q.Get("response_mode"); !slices.Contains(validResponseModes, f.ResponseMode) {
		return f, errInvalidRequest("The response_mode '" + f.ResponseMode + "' is not supported. Use query, fragment or form_post."), false
	}
	if e := s.checkAudience(f); e != nil {
		return f, e, true
	}
	switch q.Get("response_type") {
	case "":
		return f, errMissingParam("response_type"), true
	case "code":
	default:
		return f, newErr(400, "unsupported_response_type", 900021, "The response_type '%s' is not supported by entratest; use 'code'.", q.Get("response_type")), true
	}
	f.Nonce, f.Challenge, f.Method = q.Get("nonce"), q.Get("code_challenge"), q.Get("code_challenge_method")
	f.Prompt, f.LoginHint, f.DomainHint = q.Get("prompt"), q.Get("login_hint"), q.Get("domain_hint")
	if e := checkAuthorizeParams(f); e != nil {
		return f, e, true
	}
	cr, e := parseClaims(q.Get("claims"))
	if e != nil {
		return f, e, true
	}
	f.Acrs, f.Caps = cr.acrs, cr.caps
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Refs, e = s.parseScopes(f.Scope); e != nil {
		return f, e, true
	}
	return f, s.checkDefaultListed(s.app(f.ClientID), f.Refs), true
}

// checkAudience answers AADSTS50194 for a single-tenant app at organizations
// or common. Entra redirects this error to the app (field report:
// https://learn.microsoft.com/en-us/answers/a/982308); it applies to apps
// created after October 15, 2018, i.e. every app a test creates.
func (s *Server) checkAudience(f *flow) *entraError {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(f.ClientID)
	if f.Seg.Tenant != nil || a == nil || a.MultiTenant {
		return nil
	}
	return errSingleTenantAtCommon(a)
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

// proceed signs the user in from the session, or shows the sign-in page (the
// account picker when several accounts are signed in and nothing says which).
func (s *Server) proceed(w http.ResponseWriter, r *http.Request, f *flow) {
	sess := s.sessionFrom(r)
	s.mu.Lock()
	u, ambiguous := s.pickUser(f, sess)
	if u != nil {
		f.SessionID = s.signIn(w, r, u).ID
	}
	s.mu.Unlock()
	switch {
	case u != nil:
		s.afterSignIn(w, r, f, u)
	case f.Prompt == "none" && ambiguous:
		s.redirectError(w, r, f, errAmbiguousAccount())
	case f.Prompt == "none":
		s.redirectError(w, r, f, errLoginRequired())
	default:
		s.signInPage(w, r, f, sess, "")
	}
}

// pickUser returns the user to continue as without a sign-in page, or nil;
// ambiguous reports that several signed-in accounts fit and neither
// login_hint nor prompt chose one, where Entra shows its account picker.
// Caller holds s.mu.
func (s *Server) pickUser(f *flow, sess *session) (u *User, ambiguous bool) {
	if f.Prompt == "login" || f.Prompt == "select_account" {
		return nil, false
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
			return hinted, false // no passwords in the emulator: a hint for a known user signs in
		}
		return nil, false
	}
	if len(inSession) == 1 {
		return inSession[0], false
	}
	return nil, len(inSession) > 1
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
	if e := s.checkResourcesInTenant(f, a, u); e != nil {
		s.mu.Unlock()
		s.redirectError(w, r, f, e)
		return
	}
	need := s.consentNeeds(f, a, u)
	f.Pending = need.show
	s.mu.Unlock()
	s.consentStep(w, r, f, a, u, need)
}

// consentStep answers once the user is known: a code when nothing is
// missing, else the consent page or "Need admin approval".
func (s *Server) consentStep(w http.ResponseWriter, r *http.Request, f *flow, a *App, u *User, need consentNeed) {
	switch {
	case len(need.show) == 0 && need.blocked == 0:
		s.issueCode(w, r, f, u)
	case f.Prompt == "none":
		// Guessed: the authorize docs list interaction_required ("An additional
		// authentication step or consent is required") and not consent_required;
		// OpenID Connect Core 3.1.2.6 defines consent_required for this case, and
		// Entra is reported to send it with AADSTS65001. Middleware code should
		// treat both alike.
		s.redirectError(w, r, f, newErr(400, "consent_required", 65001, "%s", errConsentRequired(a).Message))
	case need.blocked != 0:
		s.pageAdminApproval(w, r, f, a, u, need.miss, need.blocked)
	default:
		s.pageConsent(w, r, f, a, u, need.show)
	}
}

func orEmpty(a *App) *App {
	if a == nil {
		return &App{}
	}
	return a
}
