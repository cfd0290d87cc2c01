package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// homeView lists the emulator's users on the home page (nothing on the real Entra ID).
type homeView struct{ Tenants []homeTenant }

type homeTenant struct {
	Name                string
	UserConsentDisabled bool
	Users               []homeUser
}

type homeUser struct {
	UPN, Name string
	Admin     bool
}

func (s *site) directoryForHome() []homeTenant {
	if s.emulator == nil {
		return nil
	}
	var out []homeTenant
	for _, t := range exampleDirectory() {
		ht := homeTenant{Name: t.DisplayName, UserConsentDisabled: t.UserConsentDisabled}
		for _, u := range t.Users {
			ht.Users = append(ht.Users, homeUser{UPN: u.UPN, Name: u.DisplayName, Admin: u.Admin})
		}
		out = append(out, ht)
	}
	return out
}

// pagePermission is one permission this app uses, and the page that uses it.
type pagePermission struct {
	Scope, Page, Path string
	AdminOnly         bool
}

var appPermissions = []pagePermission{
	{Scope: "User.Read", Page: "Profile", Path: "/profile"},
	{Scope: "Mail.Read", Page: "Mail", Path: "/mail"},
	{Scope: "Mail.Send", Page: "Compose", Path: "/compose"},
	{Scope: "User.Read.All", Page: "Directory", Path: "/directory", AdminOnly: true},
}

// scopeRow is one line of the Scopes page.
type scopeRow struct {
	pagePermission
	InToken bool
	Granted string // "you", "your organization", both, or "" (not granted); unknown on the real Entra ID
}

type scopesView struct {
	Rows            []scopeRow
	PageScopes      []string // what this page requires, and so what its token was asked for
	TokenScope      []string // the scp claim of this page's token
	Audience        string
	Issued, Expires time.Time
	OnEmulator      bool
}

// scopes shows which permissions are granted to the app, and which ones the token of
// this page (the User.Read token, cached since sign-in) carries.
func (s *site) scopes(w http.ResponseWriter, r *http.Request) {
	tok, _ := middleware.TokenFromContext(r.Context()) // Require put it there
	claims := accessTokenClaims(tok.AccessToken)
	v := scopesView{PageScopes: tok.Scopes, TokenScope: strings.Fields(claims.Scp), Audience: claims.Aud,
		OnEmulator: s.emulator != nil}
	if claims.Exp > 0 {
		v.Expires = time.Unix(claims.Exp, 0)
	}
	if claims.Iat > 0 {
		v.Issued = time.Unix(claims.Iat, 0)
	}
	you, org := s.granted(r, claims)
	for _, p := range appPermissions {
		row := scopeRow{pagePermission: p, InToken: containsFold(v.TokenScope, p.Scope)}
		var to []string
		if containsFold(you, p.Scope) {
			to = append(to, "you")
		}
		if containsFold(org, p.Scope) {
			to = append(to, "your organization")
		}
		row.Granted = strings.Join(to, " and ")
		v.Rows = append(v.Rows, row)
	}
	s.render(w, r, http.StatusOK, "scopes", "Scopes", v)
}

// granted returns the Graph scopes granted to this app for the user alone and for
// the whole organization, as the emulator's directory has them.
func (s *site) granted(r *http.Request, c tokenClaims) (you, org []string) {
	if s.emulator == nil || c.Tid == "" {
		return nil, nil
	}
	for _, g := range s.emulator.Grants(c.Tid, s.clientID) {
		switch {
		case g.Resource != entratest.GraphAppID:
		case g.PrincipalID == "":
			org = append(org, g.Scopes...)
		case strings.EqualFold(g.PrincipalID, c.Oid):
			you = append(you, g.Scopes...)
		}
	}
	return you, org
}

// tokenClaims are the access token claims the Scopes page shows. The app does not
// validate the token (Graph does); it only reads it for display.
type tokenClaims struct {
	Scp, Aud, Tid, Oid string
	Iat, Exp           int64
}

func accessTokenClaims(token string) tokenClaims {
	var c tokenClaims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return c
	}
	var raw struct {
		Scp string `json:"scp"`
		Aud string `json:"aud"`
		Tid string `json:"tid"`
		Oid string `json:"oid"`
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
	}
	if json.Unmarshal(b, &raw) == nil {
		c = tokenClaims{Scp: raw.Scp, Aud: raw.Aud, Tid: raw.Tid, Oid: raw.Oid, Iat: raw.Iat, Exp: raw.Exp}
	}
	return c
}

func containsFold(list []string, v string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, v) })
}
