package entratest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// handleAdminConsent serves /{tenant}/v2.0/adminconsent
// (https://learn.microsoft.com/entra/identity-platform/v2-admin-consent):
// an admin signs in, approves the permissions for the tenant, and is sent back
// with admin_consent=True&tenant=<guid>&scope=...&state=....
func (s *Server) handleAdminConsent(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		s.errorPage(w, r, newErr(405, "invalid_request", 900561, "The adminconsent endpoint accepts GET requests only."))
		return
	}
	q := r.URL.Query()
	if strings.EqualFold(r.PathValue("tenant"), "common") {
		s.errorPage(w, r, errAdminConsentAtCommon())
		return
	}
	f, e := s.newFlow("adminconsent", r.PathValue("tenant"), q)
	if e != nil {
		s.errorPage(w, r, e)
		return
	}
	if e := s.checkAudience(f); e != nil {
		s.redirectError(w, r, f, e)
		return
	}
	if strings.TrimSpace(f.Scope) == "" {
		s.redirectError(w, r, f, errMissingParam("scope"))
		return
	}
	s.mu.Lock()
	f.Refs, e = s.parseScopes(f.Scope)
	s.mu.Unlock()
	if e != nil {
		s.redirectError(w, r, f, e)
		return
	}
	f.Prompt = q.Get("prompt")
	if f.Prompt != "login" && f.Prompt != "select_account" {
		f.Prompt = ""
	}
	s.proceed(w, r, f)
}

// adminPerms lists what admin consent grants: the delegated scopes (.default
// expands to the app's required scopes) and, for Graph .default, the app's
// required application roles. Caller holds s.mu.
func (s *Server) adminPerms(f *flow, a *App) []pendingScope {
	var out []pendingScope
	for _, res := range resourcesOf(f.Refs) {
		rs := s.lookupResource(res)
		if rs == nil {
			continue
		}
		for _, v := range s.wanted(a, f.Refs, res) {
			p, _ := rs.scope(v)
			out = append(out, pendingScope{Resource: res, Perm: p})
		}
		if res == GraphAppID && slices.ContainsFunc(f.Refs, func(r scopeRef) bool { return r.Resource == res && r.Value == ".default" }) {
			for _, v := range a.RequiredRoles {
				if p, ok := rs.role(v); ok {
					out = append(out, pendingScope{Resource: res, Perm: p, Role: true})
				}
			}
		}
	}
	return out
}

// adminConsentStep shows the admin-consent page, or "Need admin approval" to a
// non-admin. Guessed: Entra's exact page for a non-admin at this endpoint is
// not documented; we reuse the AADSTS90094 page and its "back" redirect
// (access_denied, AADSTS65004, plus admin_consent=True). A field report shows
// error=access_denied, error_subcode=cancel and state only
// (https://github.com/MicrosoftDocs/azure-docs/issues/41053).
func (s *Server) adminConsentStep(w http.ResponseWriter, r *http.Request, f *flow, u *User) {
	s.mu.Lock()
	a := s.app(f.ClientID)
	if a == nil {
		s.mu.Unlock()
		s.errorPage(w, r, errUnknownClient(f.ClientID, f.Seg.Raw))
		return
	}
	perms := s.adminPerms(f, a)
	f.Pending = perms
	s.mu.Unlock()
	if !u.Admin {
		s.pageAdminApproval(w, r, f, a, u, perms, codeAdminOnly)
		return
	}
	h := hook{Kind: "adminconsent", Action: "/_entratest/consent", Fields: map[string]string{"flow": f.ID},
		Scopes: permNames(perms, false), Roles: permNames(perms, true)}
	s.render(w, http.StatusOK, pageData{Heading: "Permissions requested - Accept for your organization",
		App: a.DisplayName, User: u.UPN, H: h, Perms: perms})
}

// approveAdminConsent stores AllPrincipals grants and role assignments in the
// admin's tenant and redirects with admin_consent=True.
func (s *Server) approveAdminConsent(w http.ResponseWriter, r *http.Request, f *flow, u *User) {
	if !u.Admin {
		s.redirectError(w, r, f, errDeclined())
		return
	}
	s.mu.Lock()
	for _, p := range f.Pending {
		if p.Role {
			s.grantRolesLocked(u.TenantID, f.ClientID, p.Resource, []string{p.Perm.Value})
			continue
		}
		s.grantLocked(u.TenantID, f.ClientID, "", []string{p.Resource + "/" + p.Perm.Value})
	}
	s.st.sps[spKey{strings.ToLower(u.TenantID), f.ClientID}] = true
	s.mu.Unlock()
	q := url.Values{"admin_consent": {"True"}, "tenant": {u.TenantID}, "scope": {f.Scope}}
	if f.State != "" {
		q.Set("state", f.State)
	}
	s.redirectToApp(w, r, f, q)
}

func (s *Server) appLocked(clientID string) *App {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.app(clientID)
}

// handleLogout serves /{tenant}/oauth2/v2.0/logout: it ends the emulator
// session and redirects to post_logout_redirect_uri only when that URI has the
// origin of a registered redirect URI (of client_id when given); else it shows
// a "signed out" page.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	s.endSessions(w, r)
	q := r.URL.Query()
	target := q.Get("post_logout_redirect_uri")
	if target != "" && s.logoutTargetOK(target, q.Get("client_id")) {
		u, _ := url.Parse(target)
		if st := q.Get("state"); st != "" {
			v := u.Query()
			v.Set("state", st)
			u.RawQuery = v.Encode()
		}
		http.Redirect(w, r, u.String(), http.StatusFound)
		return
	}
	s.render(w, http.StatusOK, pageData{Heading: "You signed out of your account",
		Message: "It's a good idea to close all browser windows.", H: hook{Kind: "signedout"}})
}

// logoutTargetOK reports whether target is an absolute http(s) URL with the
// origin of some registered redirect URI.
func (s *Server) logoutTargetOK(target, clientID string) bool {
	t, err := url.Parse(target)
	if err != nil || (t.Scheme != "https" && t.Scheme != "http") || t.Host == "" || t.User != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.st.apps {
		if clientID != "" && !strings.EqualFold(a.ClientID, clientID) {
			continue
		}
		for _, ru := range a.RedirectURIs {
			if reg, err := url.Parse(ru); err == nil && reg.Scheme == t.Scheme && strings.EqualFold(reg.Host, t.Host) {
				return true
			}
		}
	}
	return false
}
