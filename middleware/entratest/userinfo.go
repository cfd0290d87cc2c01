package entratest

import (
	"net/http"
	"strings"
)

// handleUserInfo serves Graph's OpenID Connect UserInfo endpoint,
// GET /oidc/userinfo with a Graph access token of a user: sub (the same
// pairwise value as the id_token's), name, family_name, given_name, picture
// and email (https://learn.microsoft.com/entra/identity-platform/userinfo).
// Names the directory does not hold are left out.
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	c, ok := s.graphAuth(w, r)
	if !ok {
		return
	}
	if c.User == nil {
		s.graphError(w, r, http.StatusForbidden, "Authorization_RequestDenied", "UserInfo needs a token of a signed-in user.")
		return
	}
	out := map[string]any{"sub": pairwise(c.User.ObjectID, c.AppID), "name": c.User.DisplayName,
		"picture": "https://graph.microsoft.com/v1.0/me/photo/$value"}
	if strings.Contains(c.User.UPN, "@") {
		out["email"] = c.User.UPN
	}
	writeJSON(w, http.StatusOK, out)
}
