package scope

import (
	"fmt"
	"slices"
	"strings"
)

// GraphResource is the resource of short scope names such as "User.Read".
const GraphResource = "https://graph.microsoft.com"

// graphPrefixes spell Graph's resource in front of a scope: its URI in the
// global and national clouds (where "User.Read" and
// "https://graph.microsoft.us/User.Read" are one scope,
// https://learn.microsoft.com/graph/sdks/national-clouds) and its
// application id. Compared case-insensitively.
var graphPrefixes = []string{GraphResource + "/", "https://graph.microsoft.us/", "https://dod-graph.microsoft.us/",
	"https://microsoftgraph.chinacloudapi.cn/", "00000003-0000-0000-c000-000000000000/"}

// Canonical returns the spelling of scope used for keys and comparisons:
// lower-cased, and for Graph the short name ("user.read" for "User.Read",
// "https://graph.microsoft.com/User.Read" and
// "00000003-0000-0000-c000-000000000000/User.Read"). What is sent to Entra is
// the scope as given, never this.
func Canonical(scope string) string {
	l := strings.ToLower(scope)
	for _, p := range graphPrefixes {
		if rest, ok := strings.CutPrefix(l, p); ok && rest != "" {
			return rest
		}
	}
	return l
}

// OIDC are the OpenID Connect scopes added to every authorize request.
var OIDC = []string{"openid", "profile", "offline_access"}

var oidc = map[string]bool{"openid": true, "profile": true, "offline_access": true, "email": true}

// IsOIDC reports whether s is an OpenID Connect scope rather than a resource's.
func IsOIDC(s string) bool { return oidc[strings.ToLower(s)] }

// Resource returns the resource a delegated scope belongs to: Graph for short
// names ("Mail.Read"), else everything before the last "/" ("api://id" for
// "api://id/access", "https://graph.microsoft.com" for its full scopes).
func Resource(scope string) string {
	c := Canonical(scope)
	i := strings.LastIndex(c, "/")
	if i < 0 {
		return GraphResource
	}
	if r := c[:i]; r != GraphResource && r != GraphResource+"/" {
		return r
	}
	return GraphResource
}

// Route validates the scopes of one route: at least one, no blanks or spaces, no
// duplicates (however Graph is spelled), no OpenID Connect scopes, all of one resource (a token is issued
// for one audience). It returns the scopes and their canonical key (see Key) for cache lookups.
func Route(scopes []string) (clean []string, key string, err error) {
	if len(scopes) == 0 {
		return nil, "", fmt.Errorf("no scopes given: name what the route needs, e.g. \"User.Read\"")
	}
	seen := make(map[string]bool, len(scopes))
	res := ""
	for _, s := range scopes {
		if err := checkScope(s); err != nil {
			return nil, "", err
		}
		l := Canonical(s)
		if seen[l] {
			return nil, "", fmt.Errorf("scope %q given twice", s)
		}
		seen[l] = true
		if r := Resource(s); res == "" {
			res = r
		} else if r != res {
			return nil, "", fmt.Errorf("scopes %q mix resources %q and %q: a token has one audience, use one resource per route", scopes, res, r)
		}
	}
	clean = slices.Clone(scopes)
	return clean, Key(clean), nil
}

func checkScope(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty scope")
	case strings.ContainsAny(s, " \t\r\n\"\\"):
		return fmt.Errorf("scope %q holds a space, quote or backslash: pass each scope as its own argument", s)
	case IsOIDC(s):
		return fmt.Errorf("scope %q is an OpenID Connect scope the middleware adds itself: leave it out", s)
	case strings.HasSuffix(s, "/"):
		return fmt.Errorf("scope %q ends with \"/\": name a permission, e.g. %q", s, s+"access_as_user")
	}
	return nil
}

// Key returns the canonical cache key of a scope set: each scope Canonical
// (Graph's however spelled), sorted, space-separated.
func Key(scopes []string) string {
	l := make([]string, len(scopes))
	for i, s := range scopes {
		l[i] = Canonical(s)
	}
	slices.Sort(l)
	return strings.Join(l, " ")
}

// Full names scope by its full URI, as the admin-consent endpoint wants:
// Graph's resource in front of a short name.
func Full(scope string) string {
	if strings.Contains(scope, "/") {
		return scope
	}
	return GraphResource + "/" + scope
}

// AppDefault is the "/.default" scope of the resource of scopes (Graph's
// when there are none), which app-only tokens ask for.
func AppDefault(scopes []string) string {
	res := GraphResource
	if len(scopes) > 0 {
		res = Resource(scopes[0])
	}
	return strings.TrimSuffix(res, "/") + "/.default"
}
