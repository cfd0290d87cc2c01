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
	// UserConsentDisabled turns off user consent: every new permission then needs
	// an administrator (AADSTS90094 for non-admins).
	UserConsentDisabled bool
}

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
	// MultiTenant lets users of other tenants sign in (and consent).
	MultiTenant bool
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
	for _, x := range s.st.tenants {
		if strings.EqualFold(x.ID, t.ID) || strings.EqualFold(x.Domain, t.Domain) {
			panic(fmt.Sprintf("entratest: AddTenant: tenant %q (%s) already exists", t.ID, t.Domain))
		}
	}
	c := t
	s.st.tenants[strings.ToLower(t.ID)] = &c
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
	c := u
	s.st.users[strings.ToLower(u.ObjectID)] = &c
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

// SetUserConsent allows or disables user consent in a tenant.
func (s *Server) SetUserConsent(tenantID string, allowed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.st.tenants[strings.ToLower(tenantID)]; t != nil {
		t.UserConsentDisabled = !allowed
	}
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

func (s *Server) userByUPN(upn string) *User {
	for _, u := range s.st.users {
		if strings.EqualFold(u.UPN, upn) {
			return u
		}
	}
	return nil
}

func (s *Server) tenantByDomain(d string) *Tenant {
	for _, t := range s.st.tenants {
		if strings.EqualFold(t.Domain, d) || strings.EqualFold(t.ID, d) {
			return t
		}
	}
	return nil
}

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
