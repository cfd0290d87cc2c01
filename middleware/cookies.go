package middleware

import "strings"

// Cookie names. Served over https, the session cookie of the default cookie
// store and the flow cookies carry the __Host- prefix: browsers accept such
// a cookie only with Secure, Path=/ and no Domain, so a site on a sibling
// subdomain cannot plant one (cookie tossing: forcing its own session or
// flow on the app's users). Flow cookies are then sent on every path, not
// only the callback's. Over http (localhost, for development) names and
// paths stay plain. A server-side Config.Sessions store or an AppSession
// sets its own cookie options, and a session cookie scoped to a BasePath
// other than / cannot be a __Host- cookie: those keep SessionName as given.

// hostPrefix is the cookie name prefix that pins a cookie to the host.
const hostPrefix = "__Host-"

// applyCookieNames sets the session and flow cookie names for s.
func (s *settings) applyCookieNames() {
	base := strings.TrimPrefix(s.SessionName, hostPrefix)
	s.flowCookieBase = base
	if s.redirect.Scheme != "https" {
		return
	}
	s.flowCookieBase = hostPrefix + base
	if s.Sessions == nil && s.AppSession == nil && s.BasePath == "/" {
		s.SessionName = hostPrefix + base
	}
}

// flowCookiePath is the Path of flow cookies: / when they carry the prefix.
func (m *Middleware) flowCookiePath() string {
	if strings.HasPrefix(m.cfg.flowCookieBase, hostPrefix) {
		return "/"
	}
	return m.cfg.authPaths.callback
}
