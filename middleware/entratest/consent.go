package entratest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// authCode is an issued authorization code: single use, ten minutes, bound to
// client, redirect URI, user and PKCE challenge.
type authCode struct {
	ClientID, RedirectURI, UserOID, TenantID string
	Nonce, Challenge, Method                 string
	Refs                                     []scopeRef
	Acrs, Caps                               []string
	Expires                                  time.Time
	Used                                     bool
}

// codeLifetime: Entra's authorization codes are short-lived, "about 10 minutes"
// (v2 auth code flow docs).
const codeLifetime = 10 * time.Minute

// sessionFrom returns the browser's emulator session, or nil.
func (s *Server) sessionFrom(r *http.Request) *session {
	c, err := r.Cookie(cookieName(r))
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.sessions[c.Value]
}

// signIn records u as the most recent user of the browser's session,
// creating the session (and its cookie) when needed. Caller holds s.mu.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, u *User) *session {
	var sess *session
	if c, err := r.Cookie(cookieName(r)); err == nil {
		sess = s.st.sessions[c.Value]
	}
	if sess == nil {
		if len(s.st.sessions) > 10000 {
			clear(s.st.sessions)
		}
		sess = &session{ID: randToken(24)}
		s.st.sessions[sess.ID] = sess
		http.SetCookie(w, sessionCookieFor(r, sess.ID))
	}
	sess.Users = slices.DeleteFunc(sess.Users, func(o string) bool { return o == u.ObjectID })
	sess.Users = append([]string{u.ObjectID}, sess.Users...)
	return sess
}

// takeFlow returns the flow named by the form, checking that a flow past
// sign-in belongs to this browser's session.
func (s *Server) takeFlow(r *http.Request, id string) *flow {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.st.flows[id]
	if f == nil || s.clock().Sub(f.Created) > time.Hour {
		return nil
	}
	if f.UserOID != "" {
		c, err := r.Cookie(cookieName(r))
		if err != nil || c.Value != f.SessionID {
			return nil
		}
	}
	return f
}

// postedFlow reads the posted form of a page (named in the error) and returns
// the flow it names. If there is none, it has answered with an error page and
// returns nil.
func (s *Server) postedFlow(w http.ResponseWriter, r *http.Request, page string) *flow {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if r.ParseForm() != nil {
		s.errorPage(w, r, errInvalidRequest("The "+page+" form could not be read."))
		return nil
	}
	f := s.takeFlow(r, r.PostForm.Get("flow"))
	if f == nil {
		s.errorPage(w, r, errFlowGone)
	}
	return f
}

var errFlowGone = newErr(400, "invalid_request", 90015, "The sign-in request is unknown or has expired. Start again from the application.")

// handleSignIn serves the sign-in page's form.
func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) {
	f := s.postedFlow(w, r, "sign-in")
	if f == nil {
		return
	}
	upn := strings.TrimSpace(r.PostForm.Get("upn"))
	s.mu.Lock()
	u := s.userByUPN(upn)
	if u == nil {
		s.mu.Unlock()
		s.signInPage(w, r, f, s.sessionFrom(r), "AADSTS50034: The user account "+upn+" does not exist in the directory. To sign into this application, the account must be added to the directory.")
		return
	}
	f.SessionID = s.signIn(w, r, u).ID
	s.mu.Unlock()
	s.afterSignIn(w, r, f, u)
}

// handleConsent serves the consent and admin-consent pages' forms.
func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request) {
	f := s.postedFlow(w, r, "consent")
	if f == nil {
		return
	}
	if f.UserOID == "" { // consent comes after sign-in
		s.errorPage(w, r, errFlowGone)
		return
	}
	s.mu.Lock()
	u := s.user(f.UserOID)
	delete(s.st.flows, f.ID) // a consent answer ends the flow
	s.mu.Unlock()
	switch {
	case u == nil:
		s.errorPage(w, r, errFlowGone)
	case r.PostForm.Get("action") != "accept":
		s.redirectError(w, r, f, errDeclined())
	case f.Kind == "adminconsent":
		s.approveAdminConsent(w, r, f, u)
	default:
		s.storeConsent(f, u, r.PostForm.Get("consent_org") == "on")
		s.issueCode(w, r, f, u)
	}
}

// storeConsent records the accepted permissions: for the organization
// (AllPrincipals) when an admin ticked the box, else for the user only.
func (s *Server) storeConsent(f *flow, u *User, org bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	principal := u.ObjectID
	if (org || f.Prompt == "admin_consent") && u.Admin {
		principal = ""
	}
	for _, p := range f.Pending {
		if p.Perm.AdminOnly && !u.Admin {
			continue
		}
		s.grantLocked(u.TenantID, f.ClientID, principal, []string{p.Resource + "/" + p.Perm.Value})
	}
	s.st.sps[spKey{strings.ToLower(u.TenantID), f.ClientID}] = true
}

// handleBack is the "Return to the application without granting consent"
// link of the "Need admin approval" page. It sends what a decline sends:
// error=access_denied, error_subcode=cancel and AADSTS65004. No Microsoft doc
// describes this redirect; field reports show Entra sending AADSTS65004 ("User
// declined to consent") there
// (https://learn.microsoft.com/en-us/answers/questions/2237594/how-to-handle-admin-consent-in-oauth-flow),
// sometimes with no error_description at all
// (https://github.com/MicrosoftDocs/azure-docs/issues/41053). So an app cannot
// tell "not allowed to consent" from "declined", and its page for both must
// offer the way to an administrator.
func (s *Server) handleBack(w http.ResponseWriter, r *http.Request) {
	f := s.takeFlow(r, r.URL.Query().Get("flow"))
	if f == nil || f.UserOID == "" {
		s.errorPage(w, r, errFlowGone)
		return
	}
	s.mu.Lock()
	delete(s.st.flows, f.ID)
	s.mu.Unlock()
	s.redirectError(w, r, f, errDeclined())
}

// issueCode stores a code for the flow and redirects to the app with it.
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, f *flow, u *User) {
	s.mu.Lock()
	code := "1.A" + randToken(48) // Entra codes are opaque; the prefix is cosmetic
	if len(s.st.codes) > 50000 {
		clear(s.st.codes)
	}
	s.st.codes[code] = &authCode{ClientID: f.ClientID, RedirectURI: f.RedirectURI, UserOID: u.ObjectID,
		TenantID: u.TenantID, Nonce: f.Nonce, Challenge: f.Challenge, Method: f.Method,
		Refs: f.Refs, Acrs: f.Acrs, Caps: f.Caps, Expires: s.clock().Add(codeLifetime)}
	delete(s.st.flows, f.ID)
	s.mu.Unlock()
	q := url.Values{"code": {code}, "session_state": {f.SessionID}}
	if f.State != "" {
		q.Set("state", f.State)
	}
	s.redirectToApp(w, r, f, q)
}

// redirectError sends e to the app's redirect URI, as Entra does for errors
// after the redirect URI is validated: error, error_description, state
// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#error-response),
// error_subcode when set (seen in the field: access_denied + cancel, e.g.
// https://github.com/MicrosoftDocs/azure-docs/issues/41053), and on the admin
// consent endpoint admin_consent=True, which "will be set to True to indicate
// that this response occurred on an admin consent flow"
// (https://learn.microsoft.com/entra/identity-platform/v2-admin-consent#error-response).
// That page also lists tenant, but Entra leaves it out of error answers
// (https://github.com/MicrosoftDocs/azure-docs/issues/114009, a confirmed doc
// bug), and so does the emulator.
func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, f *flow, e *entraError) {
	if f == nil {
		s.errorPage(w, r, e)
		return
	}
	q := url.Values{"error": {e.Error}, "error_description": {e.description(newGUID(), newGUID(), s.now())},
		"error_uri": {s.errorURI(e)}}
	if e.SubCode != "" {
		q.Set("error_subcode", e.SubCode)
	}
	if f.Kind == "adminconsent" {
		q.Set("admin_consent", "True")
	}
	if f.State != "" {
		q.Set("state", f.State)
	}
	s.redirectToApp(w, r, f, q)
}

// redirectToApp sends q to f.RedirectURI, after checking again that the URI
// is still registered for the client, in the flow's response_mode: the query
// (default), the fragment, or an auto-submitting form POST
// (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#request-an-authorization-code).
func (s *Server) redirectToApp(w http.ResponseWriter, r *http.Request, f *flow, q url.Values) {
	s.mu.Lock()
	a := s.app(f.ClientID)
	ok := a != nil && slices.Contains(a.RedirectURIs, f.RedirectURI)
	s.mu.Unlock()
	u, err := url.Parse(f.RedirectURI)
	if !ok || err != nil {
		s.errorPage(w, r, errRedirectMismatch(f.RedirectURI, f.ClientID))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	switch f.ResponseMode {
	case "form_post":
		s.formPost(w, f.RedirectURI, q)
		return
	case "fragment":
		u.Fragment = ""
		http.Redirect(w, r, u.String()+"#"+q.Encode(), http.StatusFound)
		return
	}
	all := u.Query()
	for k, v := range q {
		all[k] = v
	}
	u.RawQuery = all.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}
