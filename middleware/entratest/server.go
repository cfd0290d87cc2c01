package entratest

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Endpoint names an emulator endpoint whose requests Count counts.
type Endpoint string

// Endpoints counted by Count.
const (
	EndpointAuthorize    Endpoint = "authorize"
	EndpointToken        Endpoint = "token"
	EndpointAdminConsent Endpoint = "adminconsent"
	EndpointGraph        Endpoint = "graph"
	EndpointLogout       Endpoint = "logout"
	EndpointDiscovery    Endpoint = "discovery"
	EndpointJWKS         Endpoint = "jwks"
	// EndpointSignIn counts posts of the sign-in page.
	EndpointSignIn Endpoint = "signin"
	// EndpointConsent counts posts of the consent and admin-consent pages.
	EndpointConsent Endpoint = "consent"
)

// Option configures NewServer.
type Option func(*config)

type config struct {
	clock      func() time.Time
	addr       string
	logger     *slog.Logger
	plainFront bool
	frontAddr  string
}

// WithClock sets the clock used for codes, tokens and expiry checks.
// The default is time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithAddr listens on a fixed address such as "127.0.0.1:8443" (for the example
// app, whose redirect URIs must be stable). The default is a free loopback port.
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithLogger sets the logger for rejected requests. The default discards logs.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// Server is an in-process Microsoft Entra ID v2.0 emulator on a TLS loopback
// listener, shaped like httptest.Server. All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, "https://127.0.0.1:port", without a trailing slash.
	URL string

	ts    *httptest.Server
	front *httptest.Server // plain-HTTP front channel, or nil
	key   *signingKey
	log   *slog.Logger

	mu        sync.Mutex
	clock     func() time.Time
	st        state
	counts    map[Endpoint]int
	accessTTL time.Duration
	issued    int // access tokens issued, which seeds their lifetimes
	failN     int
	failCode  int
	latency   time.Duration
	creds     map[string]*keyCredentials // certificates and federated credentials, by lower-case client id
}

// NewServer starts an emulator with an empty directory and the Microsoft Graph
// permission catalog. It panics if it cannot listen, like httptest.NewServer.
func NewServer(opts ...Option) *Server {
	cfg := config{clock: time.Now, logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(&cfg)
	}
	key, err := newSigningKey()
	if err != nil {
		panic(fmt.Sprintf("entratest: NewServer: %v", err))
	}
	s := &Server{key: key, log: cfg.logger, clock: cfg.clock, st: newState(),
		counts: map[Endpoint]int{}}
	s.ts = httptest.NewUnstartedServer(s.routes())
	if cfg.addr != "" {
		setListener(s.ts, cfg.addr)
	}
	s.ts.EnableHTTP2 = true // as login.microsoftonline.com: Client() and MSAL's transports multiplex on one connection
	s.ts.StartTLS()
	s.URL = s.ts.URL
	s.startFront(cfg)
	return s
}

// Client returns an HTTP client that trusts the server's certificate.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Certificate returns the server's TLS certificate.
func (s *Server) Certificate() *x509.Certificate { return s.ts.Certificate() }

// Close shuts the server (and its plain-HTTP front channel, if any) down and
// blocks until all requests finish.
func (s *Server) Close() {
	if s.front != nil {
		s.front.Close()
	}
	s.ts.Close()
}

// Authority returns URL+"/"+tenant; tenant is a tenant id, a domain,
// "organizations" or "common".
func (s *Server) Authority(tenant string) string { return s.URL + "/" + tenant }

// GraphURL returns the base URL of the Graph-like API, URL+"/v1.0".
func (s *Server) GraphURL() string { return s.URL + "/v1.0" }

// Handler returns the emulator's HTTP handler, for in-memory tests and fuzzing.
func (s *Server) Handler() http.Handler { return s.ts.Config.Handler }

// SetClock replaces the clock used for codes, tokens and expiry checks.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = now
}

// SetTokenLifetime fixes the lifetime of access tokens issued from now on.
// d <= 0 restores the default, Entra's: 60 to 90 minutes, drawn per token
// from the emulator's clock and the grant, so a test repeats exactly.
func (s *Server) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessTTL = max(d, 0)
}

// FailTokenRequests makes the next n token endpoint requests answer status
// (e.g. 500 or 503) with an Entra JSON error, before any other processing.
func (s *Server) FailTokenRequests(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failCode = n, status
}

// SetTokenLatency delays every token endpoint response by d (0 turns it off).
// The delay uses real time and ends early when the request is cancelled.
func (s *Server) SetTokenLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Count returns how many requests an endpoint has received.
func (s *Server) Count(e Endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[e]
}

// ResetCounts sets all request counts to zero.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.counts)
}

func (s *Server) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock()
}

// counted wraps h so that it counts requests to e.
func (s *Server) counted(e Endpoint, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.counts[e]++
		s.mu.Unlock()
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h(w, r)
	}
}

func (s *Server) routes() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.counted(EndpointDiscovery, s.handleDiscovery))
	m.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.counted(EndpointJWKS, s.handleJWKS))
	m.HandleFunc("/{tenant}/oauth2/v2.0/token", s.counted(EndpointToken, s.handleToken))
	m.HandleFunc("GET /oidc/userinfo", s.counted(EndpointGraph, s.handleUserInfo))
	s.frontRoutes(m)
	graph := s.counted(EndpointGraph, s.handleGraph)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The Graph-like API answers every path under /v1.0 itself, with
		// Graph's error JSON, and without the mux's redirects to a cleaned
		// path (found by FuzzGraph).
		if r.URL.Path == "/v1.0" || strings.HasPrefix(r.URL.Path, "/v1.0/") {
			graph(w, r)
			return
		}
		m.ServeHTTP(w, r)
	})
}

// tenantSeg is a resolved tenant path segment.
type tenantSeg struct {
	Raw    string
	Tenant *Tenant // nil for organizations and common
}

// resolveTenant resolves the {tenant} path segment. Caller holds s.mu.
func (s *Server) resolveTenant(raw string) (tenantSeg, *entraError) {
	switch strings.ToLower(raw) {
	case "organizations", "common":
		return tenantSeg{Raw: strings.ToLower(raw)}, nil
	}
	if t := s.tenantByDomain(raw); t != nil {
		return tenantSeg{Raw: raw, Tenant: t}, nil
	}
	return tenantSeg{}, errTenantNotFound(raw)
}

// allows reports whether a user may sign in through this tenant segment.
func (t tenantSeg) allows(u *User) bool {
	return t.Tenant == nil || strings.EqualFold(t.Tenant.ID, u.TenantID)
}

// handleDiscovery serves OpenID Connect discovery with the fields Entra's
// v2.0 document lists
// (https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration),
// minus the endpoints the emulator does not implement (device code,
// Kerberos), with only the response types and client authentication methods
// it supports (no private_key_jwt). An unknown tenant
// gets 400 invalid_tenant with AADSTS90002, as Entra answers there.
func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("tenant")
	s.mu.Lock()
	seg, e := s.resolveTenant(raw)
	s.mu.Unlock()
	if e != nil {
		e.Error = "invalid_tenant"
		s.writeTokenError(w, r, e)
		return
	}
	base, front := s.URL+"/"+raw, s.FrontChannelURL()+"/"+raw
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.issuer(seg),
		"authorization_endpoint":                front + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"end_session_endpoint":                  front + "/oauth2/v2.0/logout",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"userinfo_endpoint":                     s.URL + "/oidc/userinfo",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"claims_supported": []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
			"msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver",
			"at_hash", "c_hash", "email"},
		"http_logout_supported":           true,
		"frontchannel_logout_supported":   true,
		"tenant_region_scope":             "WW",
		"cloud_instance_name":             "microsoftonline.com",
		"cloud_graph_host_name":           "graph.windows.net",
		"msgraph_host":                    "graph.microsoft.com",
		"request_uri_parameter_supported": false,
	})
}

// issuer is the v2.0 issuer of a tenant segment; "{tenantid}" for
// organizations and common, as Entra's multi-tenant documents say.
func (s *Server) issuer(seg tenantSeg) string {
	tid := "{tenantid}"
	if seg.Tenant != nil {
		tid = seg.Tenant.ID
	}
	return s.URL + "/" + tid + "/v2.0"
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	seg, e := s.resolveTenant(r.PathValue("tenant"))
	s.mu.Unlock()
	if e != nil {
		e.Error = "invalid_tenant"
		s.writeTokenError(w, r, e)
		return
	}
	writeJSON(w, http.StatusOK, s.key.jwks(s.issuer(seg)))
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
