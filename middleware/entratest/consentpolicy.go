package entratest

import (
	"slices"
	"strings"
)

// consentNeed is what stands between a signed-in user and a code.
type consentNeed struct {
	miss    []pendingScope // requested permissions not granted yet
	show    []pendingScope // what the consent page lists
	blocked int            // 0, or the AADSTS code of "Need admin approval": 90093 or 90094
}

// Codes of the "Need admin approval" page
// (https://learn.microsoft.com/entra/identity/enterprise-apps/application-sign-in-unexpected-user-consent-error):
// 90093 when the tenant's policy keeps the user from granting the app
// anything ("An administrator of <tenant> has set a policy that prevents you
// from granting <app> the permissions it is requesting"), 90094 when a
// permission needs an administrator ("<app> needs permission to access
// resources in your organization that only an admin can grant").
const (
	codeConsentPolicy = 90093
	codeAdminOnly     = 90094
)

// consentNeeds computes the missing permissions, the ones to show (every
// requested one with prompt=consent or prompt=admin_consent) and whether the
// user may grant them. Caller holds s.mu.
func (s *Server) consentNeeds(f *flow, a *App, u *User) consentNeed {
	var n consentNeed
	var requested []pendingScope
	all := f.Prompt == "consent" || f.Prompt == "admin_consent"
	for _, res := range resourcesOf(f.Refs) {
		rs := s.lookupResource(res)
		if rs == nil {
			continue
		}
		have := s.granted(u.TenantID, a.ClientID, res, u.ObjectID)
		for _, v := range s.wanted(a, f.Refs, res) {
			p, _ := rs.scope(v)
			ps := pendingScope{Resource: res, Perm: p}
			requested = append(requested, ps)
			if len(missing([]string{v}, have)) > 0 {
				n.miss = append(n.miss, ps)
				n.blocked = worse(n.blocked, s.userMayGrant(a, u, ps, f.Prompt))
			}
			if all && (u.Admin || !p.AdminOnly) {
				n.show = append(n.show, ps)
			}
		}
	}
	if f.Prompt == "admin_consent" && !u.Admin { // only an admin may consent for the tenant
		n.miss, n.blocked = requested, worse(n.blocked, codeAdminOnly)
	}
	if !all || n.blocked != 0 {
		n.show = n.miss
	}
	return n
}

// worse keeps the policy code over the admin-only code: the policy is what
// the page names first.
func worse(a, b int) int {
	if a == codeConsentPolicy || b == 0 {
		return a
	}
	return b
}

// userMayGrant returns 0 when u may consent to p for app a, else the
// "Need admin approval" code. Admins may grant anything. Caller holds s.mu.
func (s *Server) userMayGrant(a *App, u *User, p pendingScope, prompt string) int {
	if u.Admin {
		return 0
	}
	t := s.tenant(u.TenantID)
	if t == nil {
		return codeConsentPolicy
	}
	switch t.policy() {
	case UserConsentNone:
		return codeConsentPolicy
	case UserConsentVerifiedLowImpact:
		if !a.VerifiedPublisher && !strings.EqualFold(a.HomeTenantID, u.TenantID) {
			return codeConsentPolicy
		}
		if !t.lowImpact(p) {
			return codeAdminOnly
		}
	}
	if p.Perm.AdminOnly {
		return codeAdminOnly
	}
	return 0
}

// defaultLowImpact is the classification Microsoft recommends for
// UserConsentVerifiedLowImpact: the permissions needed to sign a user in.
var defaultLowImpact = []string{"User.Read"}

// lowImpact reports whether the tenant classifies p as low impact.
func (t *Tenant) lowImpact(p pendingScope) bool {
	list := t.LowImpact
	if list == nil {
		list = defaultLowImpact
	}
	long := resourceURI(p.Resource) + "/" + p.Perm.Value
	return slices.ContainsFunc(list, func(v string) bool {
		return strings.EqualFold(v, long) || (p.Resource == GraphAppID && strings.EqualFold(v, p.Perm.Value))
	})
}

// checkResourcesInTenant answers AADSTS650052 when the app asks for a
// custom API whose service principal is not in the user's tenant: Entra
// cannot create it by consent
// (https://learn.microsoft.com/troubleshoot/entra/entra-id/app-integration/error-code-aadsts650052-app-needs-access-service).
// An app asking for its own exposed scopes is not such a case: consent
// creates the app's service principal, which is the API's.
// Caller holds s.mu.
func (s *Server) checkResourcesInTenant(f *flow, a *App, u *User) *entraError {
	for _, res := range resourcesOf(f.Refs) {
		if res != GraphAppID && !strings.EqualFold(res, a.ClientID) && !s.st.sps[spKey{strings.ToLower(u.TenantID), res}] {
			return errNoServicePrincipal(res, u.TenantID)
		}
	}
	return nil
}

// checkDefaultListed answers AADSTS650057 when ".default" names a resource
// the app's registration does not list (no required scope or role of it):
// "Invalid resource. The client has requested access to a resource which
// isn't listed in the requested permissions in the client's application
// registration"
// (https://learn.microsoft.com/entra/identity-platform/reference-error-codes).
// Caller holds s.mu.
func (s *Server) checkDefaultListed(a *App, refs []scopeRef) *entraError {
	for _, r := range refs {
		if r.OIDC || r.Value != ".default" {
			continue
		}
		if len(s.requiredFor(a, r.Resource)) == 0 && !(r.Resource == GraphAppID && len(a.RequiredRoles) > 0) {
			return errResourceNotListed(a, r.Raw)
		}
	}
	return nil
}
