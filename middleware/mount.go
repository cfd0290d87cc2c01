package middleware

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/consentry/consentry/middleware/internal/returnurl"
)

// An app mounted under a path prefix (Config.BasePath, e.g. /app/) sees
// requests in one of three ways: chi's Mount and gorilla/mux subrouters keep
// the whole path in r.URL; http.StripPrefix removes the prefix from r.URL but
// not from r.RequestURI, which keeps the request line as the browser sent it;
// a reverse proxy that strips the prefix leaves no trace of it. The
// middleware builds every URL it shows the browser (return URLs, kept forms,
// AuthHandler's paths) from the browser's view: r.RequestURI when set, with
// BasePath put back in front of a path outside it. r.RequestURI is used only
// when r.URL's path is the end of its path (a prefix was stripped): a router
// that rewrote the path otherwise is taken at its word.

// checkBasePath validates Config.BasePath, or derives it from RedirectURL:
// the directory above AuthHandler's.
func checkBasePath(s *settings) error {
	if s.BasePath == "" {
		s.BasePath = strings.TrimSuffix(path.Dir(path.Dir(s.redirect.Path)), "/") + "/"
		return nil
	}
	switch {
	case !strings.HasPrefix(s.BasePath, "/") || !strings.HasSuffix(s.BasePath, "/") || !returnurl.Valid(s.BasePath):
		return fmt.Errorf("middleware: Config.BasePath %q must be a path that starts and ends with /, e.g. /app/", s.BasePath)
	case !strings.HasPrefix(s.redirect.Path, s.BasePath):
		return fmt.Errorf("middleware: Config.RedirectURL path %q is not under Config.BasePath %q: use e.g. %sauth/callback", s.redirect.Path, s.BasePath, s.BasePath)
	}
	return nil
}

// requestURI returns r's path and query as the browser sent them (see above).
func (m *Middleware) requestURI(r *http.Request) string {
	uri := r.URL.RequestURI()
	if r.RequestURI != "" {
		u, err := url.ParseRequestURI(r.RequestURI)
		if err == nil && strings.HasPrefix(u.Path, "/") && strings.HasSuffix(u.Path, r.URL.Path) {
			uri = u.RequestURI()
		}
	}
	return m.underBase(uri)
}

// requestPath is the (unescaped) path of requestURI.
func (m *Middleware) requestPath(r *http.Request) string {
	u, err := url.ParseRequestURI(m.requestURI(r))
	if err != nil {
		return r.URL.Path
	}
	return u.Path
}

// returnURL is where r's user comes back to after a round trip to Entra: r's
// own URL as the browser sent it, or BasePath.
func (m *Middleware) returnURL(r *http.Request) string {
	return returnurl.Or(m.requestURI(r), m.cfg.BasePath)
}

// underBase puts BasePath in front of uri unless uri is already under it.
func (m *Middleware) underBase(uri string) string {
	base := m.cfg.BasePath
	p, _, _ := strings.Cut(uri, "?")
	if base == "/" || strings.HasPrefix(p, base) || p == strings.TrimSuffix(base, "/") {
		return uri
	}
	return base + strings.TrimPrefix(uri, "/")
}

// atRequestPath returns r with its URL path as the browser sent it (a
// shallow copy when that differs), for AuthHandler's routing.
func (m *Middleware) atRequestPath(r *http.Request) *http.Request {
	p := m.requestPath(r)
	if p == r.URL.Path {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = p, ""
	r2.URL = &u
	return r2
}
