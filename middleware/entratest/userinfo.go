package entratest

import (
	"net/http"
	"slices"
	"strings"
)

// handleUserInfo serves Graph's OpenID Connect UserInfo endpoint,
// GET /oidc/userinfo with a Graph access token of a user. The token must
// carry the openid scope; profile adds the name claims and email the email
// claim ("openid (required), profile, email";
// https://learn.microsoft.com/entra/identity-platform/userinfo). sub is the
// same pairwise value as the id_token's. Names the directory does not hold are
// left out. Guessed: Graph's answer to a token without openid (403 here).
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	c, ok := s.graphAuth(w, r)
	if !ok {
		return
	}
	if c.User == nil || !slices.Contains(c.Scp, "openid") {
		s.graphError(w, r, http.StatusForbidden, "Authorization_RequestDenied", "UserInfo needs a user's token with the openid scope.")
		return
	}
	out := map[string]any{"sub": pairwise(c.User.ObjectID, c.AppID)}
	if slices.Contains(c.Scp, "profile") {
		out["name"], out["picture"] = c.User.DisplayName, "https://graph.microsoft.com/v1.0/me/photo/$value"
	}
	if slices.Contains(c.Scp, "email") && strings.Contains(c.User.UPN, "@") {
		out["email"] = c.User.UPN
	}
	writeJSON(w, http.StatusOK, out)
}
