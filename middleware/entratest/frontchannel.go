package entratest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
)

// WithPlainHTTPFrontChannel also serves the pages a browser visits
// (authorize, the sign-in and consent forms, adminconsent and logout) on a
// second, plain-HTTP loopback listener, and makes discovery advertise
// authorization_endpoint and end_session_endpoint on it, so that a person
// clicking through a demo in a real browser gets no certificate warning.
// The back channel (discovery, token, JWKS, Graph) stays on TLS at URL, which
// MSAL Go requires for the authority; MSAL's AuthCodeURL uses the advertised
// authorization_endpoint as is.
//
// FOR LOCAL DEMOS ONLY: codes and session cookies cross the plain listener
// unencrypted. Entra itself serves every endpoint over TLS. The default is
// off: FrontChannelURL() == URL.
func WithPlainHTTPFrontChannel() Option { return func(c *config) { c.plainFront = true } }

// WithFrontChannelAddr listens for the plain-HTTP front channel on a fixed
// address such as "127.0.0.1:8080". It needs WithPlainHTTPFrontChannel
// (NewServer panics without it). The default is a free loopback port.
func WithFrontChannelAddr(addr string) Option { return func(c *config) { c.frontAddr = addr } }

// FrontChannelURL returns the base URL of the pages a browser visits,
// without a trailing slash: "http://127.0.0.1:port" with
// WithPlainHTTPFrontChannel, else URL.
func (s *Server) FrontChannelURL() string {
	if s.front != nil {
		return s.front.URL
	}
	return s.URL
}

// plainKey marks requests that came in on the plain-HTTP front channel.
type plainKey struct{}

// isPlain reports whether r came in on the plain-HTTP front channel.
func isPlain(r *http.Request) bool { return r.Context().Value(plainKey{}) != nil }

// startFront starts the plain-HTTP front channel listener when configured.
func (s *Server) startFront(cfg config) {
	if cfg.frontAddr != "" && !cfg.plainFront {
		panic("entratest: NewServer: WithFrontChannelAddr needs WithPlainHTTPFrontChannel")
	}
	if !cfg.plainFront {
		return
	}
	mux := http.NewServeMux()
	s.frontRoutes(mux)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), plainKey{}, true)))
	})
	s.front = httptest.NewUnstartedServer(h)
	if cfg.frontAddr != "" {
		setListener(s.front, cfg.frontAddr)
	}
	s.front.Start()
}

// setListener replaces ts's default listener by one on addr.
func setListener(ts *httptest.Server, addr string) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		panic(fmt.Sprintf("entratest: NewServer: listen on %s: %v", addr, err))
	}
	ts.Listener.Close()
	ts.Listener = l
}

// frontRoutes registers the endpoints a browser visits.
func (s *Server) frontRoutes(m *http.ServeMux) {
	m.HandleFunc("/{tenant}/oauth2/v2.0/authorize", s.counted(EndpointAuthorize, s.handleAuthorize))
	m.HandleFunc("/{tenant}/v2.0/adminconsent", s.counted(EndpointAdminConsent, s.handleAdminConsent))
	m.HandleFunc("/{tenant}/oauth2/v2.0/logout", s.counted(EndpointLogout, s.handleLogout))
	m.HandleFunc("POST /_entratest/signin", s.counted(EndpointSignIn, s.handleSignIn))
	m.HandleFunc("POST /_entratest/consent", s.counted(EndpointConsent, s.handleConsent))
	m.HandleFunc("GET /_entratest/back", s.counted(EndpointConsent, s.handleBack))
}

// Session cookies: Entra's session cookie is Secure and SameSite=None. On the
// plain-HTTP front channel a Secure cookie would never come back, so there the
// cookie has its own name (a browser refuses a plain cookie that would shadow
// a Secure one of the same name), no Secure flag, and SameSite=Lax, which
// still rides the top-level redirects from the app.
const (
	sessionCookie      = "entratest_session"
	plainSessionCookie = "entratest_session_http"
)

// cookieName is the session cookie's name for r's channel.
func cookieName(r *http.Request) string {
	if isPlain(r) {
		return plainSessionCookie
	}
	return sessionCookie
}

// sessionCookieFor returns the session cookie (value "" and MaxAge -1 clear it)
// for the channel r came in on.
func sessionCookieFor(r *http.Request, value string) *http.Cookie {
	c := &http.Cookie{Name: sessionCookie, Value: value, Path: "/", HttpOnly: true,
		Secure: true, SameSite: http.SameSiteNoneMode}
	if isPlain(r) {
		c.Name, c.Secure, c.SameSite = plainSessionCookie, false, http.SameSiteLaxMode
	}
	if value == "" {
		c.MaxAge = -1
	}
	return c
}

// endSessions ends the emulator sessions of both session cookies r carries
// and clears the cookies it may. A plain-HTTP session cookie also rides
// requests to the TLS listener (cookies ignore ports, and only Secure ones are
// scheme-bound), so a logout at URL (as apps build it from the authority) ends
// a session started on the front channel too.
func (s *Server) endSessions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	for _, name := range []string{sessionCookie, plainSessionCookie} {
		if c, err := r.Cookie(name); err == nil {
			delete(s.st.sessions, c.Value)
		}
	}
	s.mu.Unlock()
	http.SetCookie(w, sessionCookieFor(r, ""))
	if _, err := r.Cookie(plainSessionCookie); err == nil && !isPlain(r) {
		http.SetCookie(w, &http.Cookie{Name: plainSessionCookie, Path: "/", MaxAge: -1,
			HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
}
