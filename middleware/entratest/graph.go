package entratest

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/consentry/consentry/middleware/entratest/internal/jose"
)

// message is a mail in the Graph-like API.
type message struct {
	ID               string `json:"id"`
	Subject          string `json:"subject"`
	BodyPreview      string `json:"bodyPreview"`
	From             string `json:"from"`
	To               string `json:"to"`
	ReceivedDateTime string `json:"receivedDateTime"`
}

// graphCaller is a validated bearer token.
type graphCaller struct {
	User  *User // nil for app tokens
	Scp   []string
	Roles []string
	Acrs  []string
}

// handleGraph serves the Graph-like API under /v1.0: it checks the bearer
// token (signature, aud = Graph, expiry) and the scp/roles each route needs,
// answering with Graph's error JSON.
func (s *Server) handleGraph(w http.ResponseWriter, r *http.Request) {
	c, ok := s.graphAuth(w, r)
	if !ok {
		return
	}
	route := r.Method + " " + strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1.0"), "/")
	need, ok := graphRoutes[route]
	if !ok {
		graphError(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource not found for the segment '"+r.URL.Path+"'.")
		return
	}
	if !c.allowed(need) {
		graphError(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return
	}
	if c.User == nil && route != "GET /users" {
		graphError(w, http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
		return
	}
	s.serveGraphRoute(w, r, route, c)
}

// graphNeed is what a route accepts: any of the delegated scopes, or any role.
type graphNeed struct{ Scopes, Roles []string }

var graphRoutes = map[string]graphNeed{
	"GET /me":           {Scopes: []string{"User.Read", "User.Read.All", "Directory.Read.All"}},
	"GET /me/messages":  {Scopes: []string{"Mail.Read"}},
	"POST /me/sendMail": {Scopes: []string{"Mail.Send"}},
	"GET /me/events":    {Scopes: []string{"Calendars.Read", "Calendars.ReadWrite"}},
	"GET /users":        {Scopes: []string{"User.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"}, Roles: []string{"User.Read.All"}},
}

func (c *graphCaller) allowed(n graphNeed) bool {
	has := func(have, want []string) bool {
		return slices.ContainsFunc(want, func(x string) bool {
			return slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, x) })
		})
	}
	if c.User == nil {
		return has(c.Roles, n.Roles)
	}
	return has(c.Scp, n.Scopes)
}

// graphAuth validates the bearer token and the Conditional Access rule.
func (s *Server) graphAuth(w http.ResponseWriter, r *http.Request) (*graphCaller, bool) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="`+s.URL+`/common/oauth2/authorize", client_id="`+GraphAppID+`"`)
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return nil, false
	}
	claims, err := jose.Verify(raw, s.key.Public())
	if err != nil || claims["aud"] != GraphAppID {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience or signature.")
		return nil, false
	}
	now := s.now()
	exp, _ := claims["exp"].(float64)
	nbf, _ := claims["nbf"].(float64)
	if now.After(time.Unix(int64(exp), 0)) || now.Before(time.Unix(int64(nbf), 0).Add(-5*time.Minute)) {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
		return nil, false
	}
	c := s.callerFrom(claims)
	if c.User != nil && !s.caSatisfied(w, c) {
		return nil, false
	}
	return c, true
}

func (s *Server) callerFrom(claims map[string]any) *graphCaller {
	c := &graphCaller{Scp: strings.Fields(str(claims["scp"])), Roles: strs(claims["roles"]), Acrs: strs(claims["acrs"])}
	if str(claims["idtyp"]) == "app" {
		return c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.user(str(claims["oid"])); u != nil {
		cp := *u
		c.User = &cp
	}
	return c
}

// caSatisfied answers Graph's claims challenge when the user's Conditional
// Access rule wants an acrs value the token lacks
// (https://learn.microsoft.com/entra/identity-platform/claims-challenge).
func (s *Server) caSatisfied(w http.ResponseWriter, c *graphCaller) bool {
	s.mu.Lock()
	want, on := s.st.ca[strings.ToLower(c.User.ObjectID)]
	s.mu.Unlock()
	if !on || slices.Contains(c.Acrs, want) {
		return true
	}
	enc := base64.StdEncoding.EncodeToString([]byte(challengeJSON(want)))
	w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="`+s.URL+`/common/oauth2/authorize", client_id="`+GraphAppID+`", error="insufficient_claims", claims="`+enc+`"`)
	graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Continuous access evaluation resulted in claims challenge.")
	return false
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strs(v any) []string {
	arr, _ := v.([]any)
	var out []string
	for _, x := range arr {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// graphError writes Graph's error JSON.
func graphError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]string{"request-id": newGUID(), "date": time.Now().UTC().Format(time.RFC3339)},
	}})
}
