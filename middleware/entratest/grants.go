package entratest

import (
	"slices"
	"strings"
	"time"
)

// Grant is a delegated permission grant (an oAuth2PermissionGrant): scopes of
// one resource that a client may use in a tenant, for one user or for all.
type Grant struct {
	TenantID string
	ClientID string
	// Resource is the resource's application id, e.g. GraphAppID.
	Resource string
	// PrincipalID is the user's object id; "" means AllPrincipals (admin consent).
	PrincipalID string
	// Scopes are short scope values, sorted.
	Scopes []string
}

type spKey struct{ tenant, client string }

type grantKey struct{ tenant, client, resource, principal string }

type roleKey struct{ tenant, client, resource string }

// state is the emulator's mutable data, guarded by Server.mu.
type state struct {
	tenants     map[string]*Tenant
	tenantNames map[string]*Tenant // lower-case id and domain -> tenant
	users       map[string]*User
	upns        map[string]*User   // lower-case UPN -> user
	members     map[string][]*User // lower-case tenant id -> users, in the order added
	apps        map[string]*App
	sps         map[spKey]bool
	grants      map[grantKey][]string
	roles       map[roleKey][]string
	flows       map[string]*flow
	codes       map[string]*authCode
	rts         map[string]*refreshToken
	grantRTs    map[rtGrant][]string // a grant's refresh tokens, oldest first
	sessions    map[string]*session
	ca          map[string]string    // user oid -> required acrs value
	mail        map[string][]Message // user oid -> mailbox
	events      map[string][]Event   // user oid -> calendar
	pruned      time.Time            // last sweep of prune
	graphPage   int                  // SetGraphPageSize's cap, 0 for none
}

func newState() state {
	return state{
		tenants: map[string]*Tenant{}, tenantNames: map[string]*Tenant{}, users: map[string]*User{},
		upns: map[string]*User{}, members: map[string][]*User{}, apps: map[string]*App{},
		sps: map[spKey]bool{}, grants: map[grantKey][]string{}, roles: map[roleKey][]string{},
		flows: map[string]*flow{}, codes: map[string]*authCode{}, rts: map[string]*refreshToken{}, grantRTs: map[rtGrant][]string{},
		sessions: map[string]*session{}, ca: map[string]string{}, mail: map[string][]Message{},
		events: map[string][]Event{},
	}
}

// GrantDelegated grants delegated scopes to a client in a tenant, for one user
// (principalOID) or, when principalOID is "", for all users (AllPrincipals).
// Scopes may be short ("Mail.Read") or long ("https://graph.microsoft.com/Mail.Read",
// "api://{id}/x"); unknown scopes are ignored.
func (s *Server) GrantDelegated(tenantID, clientID, principalOID string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grantLocked(tenantID, clientID, principalOID, scopes)
}

func (s *Server) grantLocked(tenantID, clientID, principalOID string, scopes []string) {
	tenantID, principalOID = strings.ToLower(tenantID), strings.ToLower(principalOID)
	if a := s.app(clientID); a != nil {
		clientID = a.ClientID
	}
	for _, raw := range scopes {
		ref, e := s.parseScope(raw)
		if e != nil || ref.OIDC || ref.Value == ".default" {
			continue
		}
		k := grantKey{tenantID, clientID, ref.Resource, principalOID}
		s.st.grants[k] = appendUnique(s.st.grants[k], ref.Value)
		slices.Sort(s.st.grants[k])
	}
	s.st.sps[spKey{tenantID, clientID}] = true
}

// RevokeDelegated removes scopes from the grant for (tenant, client, principal);
// with no scopes it removes the whole grant, for every resource.
func (s *Server) RevokeDelegated(tenantID, clientID, principalOID string, scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, have := range s.st.grants {
		if !strings.EqualFold(k.tenant, tenantID) || !strings.EqualFold(k.client, clientID) ||
			!strings.EqualFold(k.principal, principalOID) {
			continue
		}
		if len(scopes) == 0 {
			delete(s.st.grants, k)
			continue
		}
		s.st.grants[k] = slices.DeleteFunc(have, func(v string) bool {
			return slices.ContainsFunc(scopes, func(raw string) bool {
				ref, e := s.parseScope(raw)
				return e == nil && ref.Resource == k.resource && strings.EqualFold(ref.Value, v)
			})
		})
	}
}

// Grants lists the delegated grants of a client in a tenant.
func (s *Server) Grants(tenantID, clientID string) []Grant {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Grant
	for k, v := range s.st.grants {
		if strings.EqualFold(k.tenant, tenantID) && strings.EqualFold(k.client, clientID) && len(v) > 0 {
			out = append(out, Grant{TenantID: k.tenant, ClientID: k.client, Resource: k.resource,
				PrincipalID: k.principal, Scopes: slices.Clone(v)})
		}
	}
	slices.SortFunc(out, func(a, b Grant) int {
		return strings.Compare(a.Resource+a.PrincipalID, b.Resource+b.PrincipalID)
	})
	return out
}

// GrantAppRoles assigns Microsoft Graph application roles (e.g. "User.Read.All")
// to a client's service principal in a tenant; client_credentials tokens carry them.
func (s *Server) GrantAppRoles(tenantID, clientID string, roles ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grantRolesLocked(tenantID, clientID, GraphAppID, roles)
}

func (s *Server) grantRolesLocked(tenantID, clientID, resourceID string, roles []string) {
	r := s.lookupResource(resourceID)
	if r == nil {
		return
	}
	if a := s.app(clientID); a != nil {
		clientID = a.ClientID
	}
	k := roleKey{strings.ToLower(tenantID), clientID, r.ID}
	for _, v := range roles {
		if p, ok := r.role(v); ok {
			s.st.roles[k] = appendUnique(s.st.roles[k], p.Value)
		}
	}
	slices.Sort(s.st.roles[k])
	s.st.sps[spKey{strings.ToLower(tenantID), clientID}] = true
}

// AppRoles lists the Graph application roles assigned to a client in a tenant.
func (s *Server) AppRoles(tenantID, clientID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.st.roles[roleKey{strings.ToLower(tenantID), clientID, GraphAppID}])
}

// granted returns the scopes of resource that client may use for user in tenant:
// the user's own grant plus the AllPrincipals grant. Caller holds s.mu.
func (s *Server) granted(tenantID, clientID, resourceID, userOID string) []string {
	t, u := strings.ToLower(tenantID), strings.ToLower(userOID)
	out := slices.Clone(s.st.grants[grantKey{t, clientID, resourceID, ""}])
	out = appendUnique(out, s.st.grants[grantKey{t, clientID, resourceID, u}]...)
	slices.Sort(out)
	return out
}

// missing returns the values of want not in have (case-insensitively).
func missing(want, have []string) []string {
	var out []string
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, w) }) {
			out = append(out, w)
		}
	}
	return out
}

// RequireClaims turns on a Conditional Access rule for a user: Graph answers
// 401 insufficient_claims until it sees a token with the returned acrs value.
// It returns the claims challenge JSON an app passes as the authorize "claims"
// parameter, e.g. {"access_token":{"acrs":{"essential":true,"value":"c1"}}};
// the WWW-Authenticate header carries it base64 encoded, as Graph does.
func (s *Server) RequireClaims(userOID string) (challengeClaims string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.ca[strings.ToLower(userOID)] = "c1"
	return challengeJSON("c1")
}

// ClearClaims turns the user's Conditional Access rule off.
func (s *Server) ClearClaims(userOID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.st.ca, strings.ToLower(userOID))
}

func challengeJSON(acrs string) string {
	return `{"access_token":{"acrs":{"essential":true,"value":"` + acrs + `"}}}`
}

// pruneEvery is how often (on the emulator's clock) prune sweeps; between
// sweeps it costs nothing, so sign-in and token requests stay O(1) in the
// number of flows, codes and refresh tokens.
const pruneEvery = time.Minute

// prune drops expired flows, codes and refresh tokens, at most once per
// pruneEvery. Caller holds s.mu.
func (s *Server) prune(now time.Time) {
	if now.Sub(s.st.pruned) < pruneEvery && !now.Before(s.st.pruned) {
		return
	}
	s.st.pruned = now
	for k, f := range s.st.flows {
		if now.Sub(f.Created) > time.Hour {
			delete(s.st.flows, k)
		}
	}
	for k, c := range s.st.codes {
		if now.Sub(c.Expires) > time.Hour {
			delete(s.st.codes, k)
		}
	}
	for k, rt := range s.st.rts {
		if now.Sub(rt.Expires) > 24*time.Hour { // kept a day so expiry reports 70008
			delete(s.st.rts, k)
		}
	}
}
