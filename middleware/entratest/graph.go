package entratest

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"
)

// graphCaller is a validated bearer token.
type graphCaller struct {
	User     *User // nil for app tokens
	Scp      []string
	Roles    []string
	Acrs     []string
	Caps     []string // xms_cc
	AppID    string   // the client the token was issued to
	TenantID string   // the tid claim
}

// handleGraph serves the Graph-like API under /v1.0: it checks the bearer
// token (signature, aud = Graph, expiry) and the scp/roles each route needs,
// answering with Graph's error JSON.
func (s *Server) handleGraph(w http.ResponseWriter, r *http.Request) {
	c, ok := s.graphAuth(w, r)
	if !ok {
		return
	}
	if s.serveDirectory(w, r, c, strings.TrimPrefix(r.URL.Path, "/v1.0/")) {
		return
	}
	route := r.Method + " " + strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1.0"), "/")
	need, ok := graphRoutes[route]
	if !ok {
		s.graphError(w, r, http.StatusNotFound, "Request_ResourceNotFound", "Resource not found for the segment '"+r.URL.Path+"'.")
		return
	}
	if !c.allowed(need) {
		s.graphDenied(w, r, need)
		return
	}
	if !s.gunzipBody(w, r) {
		return
	}
	if c.User == nil && route != "GET /users" {
		s.graphError(w, r, http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
		return
	}
	s.serveGraphRoute(w, r, route, c)
}

// graphDenied answers a token that lacks the route's scope or role with the
// code of the workload behind the route, as Graph does: Exchange (mail,
// calendar) says ErrorAccessDenied, the directory (users) says
// Authorization_RequestDenied. Graph documents the 403 and the error JSON
// (https://learn.microsoft.com/graph/errors,
// https://learn.microsoft.com/graph/resolve-auth-errors) but not these codes
// and messages per route: they are taken from field reports (guessed).
func (s *Server) graphDenied(w http.ResponseWriter, r *http.Request, need graphNeed) {
	if need.Exchange {
		s.graphError(w, r, http.StatusForbidden, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
		return
	}
	s.graphError(w, r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}

// graphNeed is what a route accepts: any of the delegated scopes, or any role.
// Exchange marks the routes Exchange Online serves behind Graph (mail, calendar).
type graphNeed struct {
	Scopes, Roles []string
	Exchange      bool
}

var graphRoutes = map[string]graphNeed{
	"GET /me":           {Scopes: []string{"User.Read", "User.Read.All", "Directory.Read.All"}},
	"GET /me/messages":  {Scopes: []string{"Mail.Read"}, Exchange: true},
	"POST /me/sendMail": {Scopes: []string{"Mail.Send"}, Exchange: true},
	"GET /me/events":    {Scopes: []string{"Calendars.Read", "Calendars.ReadWrite"}, Exchange: true},
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
		s.graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return nil, false
	}
	claims, err := s.key.verify(raw)
	if err != nil || (claims["aud"] != GraphAppID && claims["aud"] != graphURI) {
		s.graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience or signature.")
		return nil, false
	}
	now := s.now()
	exp, _ := claims["exp"].(float64)
	nbf, _ := claims["nbf"].(float64)
	if now.After(time.Unix(int64(exp), 0)) || now.Before(time.Unix(int64(nbf), 0).Add(-5*time.Minute)) {
		s.graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
		return nil, false
	}
	c := s.callerFrom(claims)
	if c.User != nil && !s.caSatisfied(w, r, c) {
		return nil, false
	}
	return c, true
}

func (s *Server) callerFrom(claims map[string]any) *graphCaller {
	c := &graphCaller{Scp: strings.Fields(str(claims["scp"])), Roles: strs(claims["roles"]), Acrs: strs(claims["acrs"]),
		Caps: strs(claims["xms_cc"]), AppID: str(claims["appid"]), TenantID: str(claims["tid"])}
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
// Access rule wants an acrs value the token lacks and the token's client
// declared the cp1 capability (xms_cc): only such clients get claims
// challenges; others keep using their token until it expires, and meet the
// rule at the token endpoint
// (https://learn.microsoft.com/entra/identity-platform/claims-challenge,
// https://learn.microsoft.com/entra/identity-platform/app-resilience-continuous-access-evaluation).
func (s *Server) caSatisfied(w http.ResponseWriter, r *http.Request, c *graphCaller) bool {
	s.mu.Lock()
	want, on := s.st.ca[strings.ToLower(c.User.ObjectID)]
	s.mu.Unlock()
	if !on || slices.Contains(c.Acrs, want) || !capable(c.Caps) {
		return true
	}
	enc := base64.StdEncoding.EncodeToString([]byte(challengeJSON(want)))
	w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="`+s.URL+`/common/oauth2/authorize", client_id="`+GraphAppID+`", error="insufficient_claims", claims="`+enc+`"`)
	s.graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Continuous access evaluation resulted in claims challenge.")
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

// graphError writes Graph's error JSON, {"error":{"code","message","innerError"}}
// (https://learn.microsoft.com/graph/errors). innerError carries date (UTC,
// without an offset, as Graph sends it), request-id and client-request-id (the
// caller's client-request-id header, else the request-id).
func (s *Server) graphError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	reqID := newGUID()
	clientReqID := r.Header.Get("client-request-id")
	if clientReqID == "" || len(clientReqID) > 64 {
		clientReqID = reqID
	}
	w.Header().Set("request-id", reqID)
	w.Header().Set("client-request-id", clientReqID)
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": msg,
		"innerError": map[string]string{"date": s.now().UTC().Format("2006-01-02T15:04:05"),
			"request-id": reqID, "client-request-id": clientReqID},
	}})
}
