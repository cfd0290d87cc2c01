package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/redis/go-redis/v9"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
	"github.com/consentry/consentry/tokencache/redisstore"
)

// listen opens the app's listener and returns it with the URL browsers use.
func listen(cfg *config) (net.Listener, string, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, "", fmt.Errorf("example: cannot listen on %s: %w (choose another with -addr)", cfg.Addr, err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	u, err := appURL(cfg, port)
	if err != nil {
		ln.Close()
		return nil, "", err
	}
	return ln, u, nil
}

// appURL is -public-url, or http://<host of -addr>:<port> (localhost for a wildcard host).
// port "" takes the port of -addr.
func appURL(cfg *config, port string) (string, error) {
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("example: -public-url %q is not an http(s) URL", cfg.PublicURL)
		}
		return strings.TrimSuffix(cfg.PublicURL, "/"), nil
	}
	host, p, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return "", fmt.Errorf("example: -addr %q is not host:port: %w", cfg.Addr, err)
	}
	if port == "" {
		port = p
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

// identity is where users sign in and which Graph the pages call.
type identity struct {
	Authority, ClientID, GraphURL string
	Credential                    confidential.Credential
	HTTPClient                    *http.Client      // nil: the default client
	Emulator                      *entratest.Server // the embedded emulator; nil otherwise
	Emulated                      bool              // the embedded emulator or one already running
	EmulatorURL                   string            // the emulator's URL, "" on the real Entra ID
	TenantLabel                   string
	HomeTenant                    string // the tenant the app is registered in
	// IsAdmin tells the middleware who is an administrator: the emulator's directory
	// knows; on the real Entra ID nil leaves it to the ID token's wids claim.
	IsAdmin func(*http.Request, middleware.Account) bool
}

func (i *identity) Close() {
	if i.Emulator != nil {
		i.Emulator.Close()
	}
}

// newIdentity starts and seeds the emulator, or uses the real Entra ID when the
// AZURE_* variables are set.
func newIdentity(cfg *config, redirectURL string, log *slog.Logger) (*identity, error) {
	if cfg.Real() {
		cred, err := confidential.NewCredFromSecret(cfg.ClientSecret)
		if err != nil {
			return nil, fmt.Errorf("example: AZURE_CLIENT_SECRET: %w", err)
		}
		return &identity{Authority: "https://login.microsoftonline.com/" + cfg.TenantID, ClientID: cfg.ClientID,
			GraphURL: "https://graph.microsoft.com/v1.0", Credential: cred, TenantLabel: cfg.TenantID, HomeTenant: cfg.TenantID}, nil
	}
	if cfg.EmulatorURL != "" {
		return sharedEmulator(cfg.EmulatorURL)
	}
	srv, err := startEmulator(cfg.EmulatorAddr, cfg.SigninAddr, []string{redirectURL}, log)
	if err != nil {
		return nil, err
	}
	cred, err := confidential.NewCredFromSecret(exampleSecret)
	if err != nil {
		srv.Close()
		return nil, fmt.Errorf("example: emulator secret: %w", err)
	}
	return &identity{Authority: srv.Authority("organizations"), ClientID: exampleClientID,
		GraphURL: srv.GraphURL(), Credential: cred, HTTPClient: srv.Client(), Emulator: srv, Emulated: true, EmulatorURL: srv.URL,
		TenantLabel: "Contoso and Fabrikam on the emulator", IsAdmin: emulatorAdmin, HomeTenant: contosoID}, nil
}

// newTokenCache keeps tokens in memory, or in Redis (encrypted with CONSENTRY_CACHE_KEY)
// when REDIS_URL is set.
// The returned func closes the Redis client.
func newTokenCache(ctx context.Context, cfg *config) (*tokencache.Cache, func(), error) {
	if cfg.RedisURL == "" {
		c, err := tokencache.New(tokencache.NewMemoryStore())
		return c, func() {}, err
	}
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("example: REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(opt)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		rdb.Close()
		return nil, nil, fmt.Errorf("example: Redis at %s does not answer: %w", redactURL(cfg.RedisURL), err)
	}
	c, err := tokencache.New(redisstore.New(rdb), tokencache.WithKey("env", cfg.CacheKey))
	if err != nil {
		rdb.Close()
		return nil, nil, fmt.Errorf("example: token cache: %w", err)
	}
	return c, func() { rdb.Close() }, nil
}

// redactURL hides a password in a URL for printing.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// printBanner tells the person who ran the example what to open and who to sign in as.
func printBanner(w io.Writer, cfg *config, idp *identity, publicURL, redirectURL string) {
	if idp.Emulated {
		fmt.Fprintf(w, "Consentry example on the Entra ID emulator\n\n")
	} else {
		fmt.Fprintf(w, "Consentry example on Microsoft Entra ID (tenant %s)\n\n", idp.TenantLabel)
	}
	fmt.Fprintf(w, "  Open       %s\n", publicURL)
	switch {
	case idp.Emulator != nil:
		fmt.Fprintf(w, "  Emulator   %s  (tokens and Graph, HTTPS with a self-signed certificate)\n", idp.Emulator.URL)
		fmt.Fprintf(w, "  Sign-in    %s  (the emulator's pages for browsers, plain HTTP on loopback)\n", idp.Emulator.FrontChannelURL())
	case idp.Emulated:
		fmt.Fprintf(w, "  Emulator   %s  (already running, shared; its redirect URIs must include %s)\n", idp.EmulatorURL, redirectURL)
	default:
		fmt.Fprintf(w, "  Redirect   %s  (register exactly this URI in the app registration)\n", redirectURL)
	}
	tokens := "in memory (lost on restart)"
	if cfg.RedisURL != "" {
		tokens = "in Redis at " + redactURL(cfg.RedisURL) + ", encrypted with CONSENTRY_CACHE_KEY"
	}
	fmt.Fprintf(w, "  Tokens     %s\n", tokens)
	if idp.Emulated {
		fmt.Fprintf(w, "\n  Sign in as (no password):\n")
		printDirectory(w)
	}
	fmt.Fprintf(w, "\n  Ctrl-C to stop.\n")
}

// withLog logs each request at debug level (run with -v to see them).
func withLog(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		log.Debug("example: request", "method", r.Method, "path", r.URL.Path, "took", time.Since(start).Round(time.Microsecond))
	})
}

// freshConns tracks connections that have not sent a request yet (browsers open
// them ahead of time), so that shutdown can close them: http.Server.Shutdown waits
// up to 5 s before it treats them as idle.
type freshConns struct {
	mu    sync.Mutex
	conns map[net.Conn]bool
}

func (f *freshConns) track(c net.Conn, state http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		f.conns = map[net.Conn]bool{}
	}
	if state == http.StateNew {
		f.conns[c] = true
	} else {
		delete(f.conns, c)
	}
}

func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		c.Close()
	}
	clear(f.conns)
}
