package entratest

import (
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
)

// Tenant is a Microsoft Entra tenant (directory).
type Tenant struct {
	// ID is the tenant's GUID; AddTenant generates one when empty.
	ID string
	// Domain is the tenant's verified domain, e.g. "contoso.example"; it can be used
	// as the tenant segment of an authority and as domain_hint. AddTenant derives
	// one from the ID when empty.
	Domain string
	// DisplayName is shown on the emulator's pages.
	DisplayName string
	// UserConsent is the tenant's "User consent for applications" setting. The
	// zero value, UserConsentAllApps, lets users consent to any permission that
	// does not need an admin, so that tests exercise consent pages; a tenant
	// created today in Entra starts at UserConsentVerifiedLowImpact.
	UserConsent UserConsentPolicy
	// UserConsentDisabled is a shorthand for UserConsent: UserConsentNone; when
	// true it wins over UserConsent.
	UserConsentDisabled bool
	// LowImpact is the tenant's permission classification "low": the delegated
	// permissions users may grant under UserConsentVerifiedLowImpact, as short
	// Graph names ("User.Read") or long names ("api://{id}/x"). nil means the
	// classification Microsoft recommends: User.Read with openid, profile, email
	// and offline_access, which are always low impact here
	// (https://learn.microsoft.com/entra/identity/enterprise-apps/configure-permission-classifications).
	LowImpact []string
}

// UserConsentPolicy is one of Entra's three user consent settings
// (https://learn.microsoft.com/entra/identity/enterprise-apps/configure-user-consent).
type UserConsentPolicy int

// The user consent settings of a tenant.
const (
	// UserConsentAllApps is "Allow user consent for apps": users may grant any
	// permission that does not require an admin (policy microsoft-user-default-legacy).
	UserConsentAllApps UserConsentPolicy = iota
	// UserConsentVerifiedLowImpact is "Allow user consent for apps from verified
	// publishers, for selected permissions" (microsoft-user-default-low), the
	// recommended setting and Microsoft's default for new tenants: users may
	// grant low-impact permissions to apps of verified publishers and to apps
	// registered in their own tenant; anything else needs an admin.
	UserConsentVerifiedLowImpact
	// UserConsentNone is "Do not allow user consent": every permission needs an admin.
	UserConsentNone
)

// User is a work account in a tenant.
type User struct {
	// ObjectID is the user's object id (the oid claim); AddUser generates one when empty.
	ObjectID string
	// TenantID is the id of the user's home tenant; it must have been added.
	TenantID string
	// UPN is the user principal name, e.g. "adele@contoso.example"; it is unique.
	UPN string
	// DisplayName is the name claim.
	DisplayName string
	// Admin marks a tenant administrator, who may consent for the whole organization.
	Admin bool
	// JobTitle is the user's job title in Graph's user resource (null when empty).
	JobTitle string
}

// Permission is a delegated scope (or application role) that a resource exposes.
type Permission struct {
	// ID is the permission's id (Graph's are Microsoft's published ids).
	ID string
	// Value is the scope's short name, e.g. "Mail.Read".
	Value string
	// Description is what consent pages show.
	Description string
	// AdminOnly marks a permission only an administrator can grant.
	AdminOnly bool
}

// App is an application registration.
type App struct {
	// ClientID is the application (client) id; AddApp generates one when empty.
	ClientID string
	// DisplayName is shown on consent pages.
	DisplayName string
	// HomeTenantID is the tenant the app is registered in; it must have been added.
	HomeTenantID string
	// Secrets are the valid client secrets; a confidential client must send one.
	Secrets []string
	// RedirectURIs are matched exactly against redirect_uri.
	RedirectURIs []string
	// MultiTenant lets users of other tenants sign in (and consent). A
	// single-tenant app must use its tenant's authority: at "organizations" or
	// "common" Entra answers AADSTS50194.
	MultiTenant bool
	// VerifiedPublisher marks an app whose publisher is verified (the blue
	// badge on consent pages), which UserConsentVerifiedLowImpact requires for
	// apps from other tenants.
	VerifiedPublisher bool
	// PublicClient marks a public client (isFallbackPublicClient, or a mobile
	// and desktop platform): it must not send a client secret (AADSTS700025).
	// An app without Secrets is treated as a public client too.
	PublicClient bool
	// AccessTokenVersion is the manifest's accessTokenAcceptedVersion for the
	// scopes this app exposes: 0 or 1 issue v1.0 tokens (iss
	// https://sts.windows.net/{tid}/, aud "api://{ClientID}"), 2 issues v2.0
	// tokens (iss {authority}/v2.0, aud ClientID)
	// (https://learn.microsoft.com/entra/identity-platform/reference-app-manifest#accesstokenacceptedversion-attribute).
	AccessTokenVersion int
	// RequiredScopes are the statically required delegated permissions, used by
	// the ".default" scope and by admin consent ("User.Read",
	// "https://graph.microsoft.com/User.Read" or "api://{id}/{value}").
	RequiredScopes []string
	// RequiredRoles are the Microsoft Graph application roles the app needs,
	// granted by admin consent of ".default" (e.g. "User.Read.All").
	RequiredRoles []string
	// ExposedScopes are the delegated scopes this app exposes as an API, requested
	// as "api://{ClientID}/{Value}"; tokens for them have aud = ClientID.
	ExposedScopes []Permission
}

// AddTenant adds a tenant and returns it with generated fields filled in.
// It panics if the ID or domain is already taken, as test setup mistakes should be loud.
func (s *Server) AddTenant(t Tenant) Tenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.ID == "" {
		t.ID = newGUID()
	}
	if t.Domain == "" {
		t.Domain = strings.ToLower(t.ID[:8]) + ".onmicrosoft.example"
	}
	if t.DisplayName == "" {
		t.DisplayName = t.Domain
	}
	id, domain := strings.ToLower(t.ID), strings.ToLower(t.Domain)
	if s.st.tenantNames[id] != nil || s.st.tenantNames[domain] != nil {
		panic(fmt.Sprintf("entratest: AddTenant: tenant %q (%s) already exists", t.ID, t.Domain))
	}
	c := t
	c.LowImpact = slices.Clone(t.LowImpact)
	s.st.tenants[id] = &c
	s.st.tenantNames[id], s.st.tenantNames[domain] = &c, &c
	return t
}

// AddUser adds a user to an existing tenant and returns it with generated fields
// filled in. It panics if the tenant is unknown or the UPN is taken.
func (s *Server) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.tenants[strings.ToLower(u.TenantID)] == nil {
		panic(fmt.Sprintf("entratest: AddUser: unknown tenant %q", u.TenantID))
	}
	if u.UPN == "" || s.userByUPN(u.UPN) != nil {
		panic(fmt.Sprintf("entratest: AddUser: UPN %q is empty or taken", u.UPN))
	}
	if u.ObjectID == "" {
		u.ObjectID = newGUID()
	}
	if u.DisplayName == "" {
		u.DisplayName = u.UPN
	}
	if s.st.users[strings.ToLower(u.ObjectID)] != nil {
		panic(fmt.Sprintf("entratest: AddUser: object id %q is taken", u.ObjectID))
	}
	c := u
	s.st.users[strings.ToLower(u.ObjectID)] = &c
	s.st.upns[strings.ToLower(u.UPN)] = &c
	tid := strings.ToLower(u.TenantID)
	s.st.members[tid] = append(s.st.members[tid], &c)
	return u
}

// AddApp registers an application in its home tenant and returns it with
// generated fields filled in. The home tenant gets the app's service principal.
// It panics if the home tenant is unknown or the client id is taken.
func (s *Server) AddApp(a App) App {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.tenants[strings.ToLower(a.HomeTenantID)] == nil {
		panic(fmt.Sprintf("entratest: AddApp: unknown home tenant %q", a.HomeTenantID))
	}
	if a.ClientID == "" {
		a.ClientID = newGUID()
	}
	if s.st.apps[strings.ToLower(a.ClientID)] != nil || strings.EqualFold(a.ClientID, GraphAppID) {
		panic(fmt.Sprintf("entratest: AddApp: client id %q is taken", a.ClientID))
	}
	if a.DisplayName == "" {
		a.DisplayName = "App " + a.ClientID[:8]
	}
	c := a
	c.Secrets = slices.Clone(a.Secrets)
	c.RedirectURIs = slices.Clone(a.RedirectURIs)
	c.RequiredScopes = slices.Clone(a.RequiredScopes)
	c.RequiredRoles = slices.Clone(a.RequiredRoles)
	c.ExposedScopes = slices.Clone(a.ExposedScopes)
	s.st.apps[strings.ToLower(a.ClientID)] = &c
	s.st.sps[spKey{strings.ToLower(a.HomeTenantID), c.ClientID}] = true
	return a
}

// SetUserConsent sets a tenant's user consent setting to UserConsentAllApps
// (allowed) or UserConsentNone.
func (s *Server) SetUserConsent(tenantID string, allowed bool) {
	p := UserConsentNone
	if allowed {
		p = UserConsentAllApps
	}
	s.SetUserConsentPolicy(tenantID, p)
}

// SetUserConsentPolicy sets a tenant's user consent setting.
func (s *Server) SetUserConsentPolicy(tenantID string, p UserConsentPolicy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.st.tenants[strings.ToLower(tenantID)]; t != nil {
		t.UserConsent, t.UserConsentDisabled = p, false
	}
}

// policy is the tenant's effective user consent setting.
func (t *Tenant) policy() UserConsentPolicy {
	if t.UserConsentDisabled {
		return UserConsentNone
	}
	return t.UserConsent
}

// SetRequiredPermissions replaces an app's statically required delegated scopes
// and application roles, as when a developer edits the registration (scope drift).
func (s *Server) SetRequiredPermissions(clientID string, scopes, roles []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.st.apps[strings.ToLower(clientID)]; a != nil {
		a.RequiredScopes = slices.Clone(scopes)
		a.RequiredRoles = slices.Clone(roles)
	}
}

// Tenants returns the tenants added so far.
func (s *Server) Tenants() []Tenant {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Tenant, 0, len(s.st.tenants))
	for _, t := range s.st.tenants {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b Tenant) int { return strings.Compare(a.Domain, b.Domain) })
	return out
}

// Users returns the users of a tenant, sorted by UPN.
func (s *Server) Users(tenantID string) []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usersOf(tenantID)
}

func (s *Server) usersOf(tenantID string) []User {
	var out []User
	for _, u := range s.st.users {
		if tenantID == "" || strings.EqualFold(u.TenantID, tenantID) {
			out = append(out, *u)
		}
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.UPN, b.UPN) })
	return out
}

func (s *Server) userByUPN(upn string) *User { return s.st.upns[strings.ToLower(upn)] }

// tenantByDomain finds a tenant by id or domain.
func (s *Server) tenantByDomain(d string) *Tenant { return s.st.tenantNames[strings.ToLower(d)] }

func (s *Server) app(clientID string) *App { return s.st.apps[strings.ToLower(clientID)] }

func (s *Server) user(oid string) *User { return s.st.users[strings.ToLower(oid)] }

func (s *Server) tenant(id string) *Tenant { return s.st.tenants[strings.ToLower(id)] }

// newGUID returns a random (version 4) GUID in lower case.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// randToken returns n random bytes, base64url encoded.
func randToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64(b)
}
