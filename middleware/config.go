package middleware

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/gorilla/sessions"

	"github.com/consentry/consentry/middleware/internal/scope"
	"github.com/consentry/consentry/tokencache"
)

// Config configures a Middleware. Authority, ClientID, Credential, RedirectURL and
// SessionKeys are required; every other field has the default its comment states.
type Config struct {
	// Authority is the Entra ID authority: https://login.microsoftonline.com/{tenant},
	// where tenant is a tenant id, a domain, "organizations" or "common". A
	// single-tenant app (the registration's default) must name its tenant:
	// at "organizations" or "common" Entra refuses it with AADSTS50194.
	Authority string
	// ClientID is the application (client) id of the app registration.
	ClientID string
	// Credential authenticates the app: confidential.NewCredFromSecret,
	// NewCredFromCert or NewCredFromAssertionCallback.
	Credential confidential.Credential
	// RedirectURL is the absolute redirect URI registered for the app, e.g.
	// https://app.example/auth/callback. It must be https, except http on
	// localhost or 127.0.0.1 for development. AuthHandler serves the callback at its
	// path, and sign-in and sign-out next to it (see AuthHandler); the path must
	// be clean, without query, braces or escaped slashes.
	RedirectURL string
	// SessionKeys are gorilla/securecookie key pairs: a hash key of 32 or 64
	// bytes, optionally followed by a block (encryption) key of 16, 24 or 32
	// bytes; further pairs are older keys still accepted (rotation). The first
	// hash key also derives the key that seals pending sign-in flows, so replicas
	// must share them. Use a nil block key to sign without encrypting.
	SessionKeys [][]byte

	// Cache holds MSAL's tokens. Default: tokencache.New(nil), in this process's memory.
	// Share a Redis-backed Cache between replicas.
	Cache *tokencache.Cache
	// FlowStore holds what anonymous requests may write: pending sign-in
	// flows, forms kept across consent and loop-guard counters, every entry
	// with a TTL of at most FlowTTL plus a minute. Replicas must share it,
	// like Cache: Middlewares in one process that share an in-process Cache
	// share flows only when given one FlowStore too. With an in-process
	// token cache the default is a store of this Middleware's own bounded to
	// DefaultFlowStoreBytes that admits rather than evicts: half for sessions
	// with a signed-in user, a quarter for the flows and a quarter for the
	// kept forms of sessions without one, each entry charged until its TTL
	// ends. A flood of anonymous requests thus cancels no sign-in under way
	// and no signed-in user's round trip; once its share is spent, new
	// anonymous sign-ins get 503 until charges expire. With a token cache
	// outside the process (Redis) give it a Redis server of its own (another
	// redis-server, not another database number: databases share one
	// maxmemory), e.g. redisstore.New(flowRDB), configured
	//
	//	maxmemory 256mb                # what a flood may take; about 1 KiB a flow, 16 KiB a kept form
	//	maxmemory-policy allkeys-lru   # a flood evicts the oldest pending flows, never tokens
	//
	// and run the token Redis with maxmemory-policy noeviction (its
	// partitions carry TTLs, so volatile-* policies evict them too). Default
	// there: the token cache's Store, with a warning at New: anonymous
	// requests then share the tokens' memory, and only noeviction keeps the
	// tokens (new sign-ins fail with 503 while a flood fills the memory, for
	// up to FlowTTL).
	FlowStore tokencache.Store
	// Sessions stores who is signed in. Default: a gorilla/sessions CookieStore
	// built from SessionKeys (HttpOnly, SameSite=Lax, Path=BasePath, Secure unless
	// RedirectURL is http://localhost or http://127.0.0.1). With a server-side
	// store (the cookie holds an id), a sign-in saves the session under a new
	// id and erases the old one (Save with MaxAge -1), so an id planted before
	// sign-in is not signed in afterwards (session fixation).
	Sessions sessions.Store
	// AppSession, when set, keeps the middleware's session values in the
	// app's own session (scs, a cookie of its own) instead of Sessions; see
	// AppSession. Set Sessions or AppSession, not both.
	AppSession AppSession
	// SessionName is the session (cookie) name. Default "consentry". Over
	// https, with the default cookie store and BasePath "/", the cookie is
	// named with the __Host- prefix ("__Host-consentry"); flow cookies carry
	// it over https whatever the BasePath.
	SessionName string
	// SessionMaxAge is the lifetime of the default cookie session. Default 24h.
	SessionMaxAge time.Duration
	// PostLogoutRedirectURL is where Entra sends the browser after sign-out.
	// Default: the origin of RedirectURL followed by BasePath. Register it in the app.
	PostLogoutRedirectURL string
	// BasePath is the path the app is mounted at as browsers see it, e.g.
	// "/app/" for an app served under https://example.com/app/ (behind
	// http.StripPrefix, chi's Mount, a gorilla/mux subrouter, or a proxy that
	// strips the prefix). It must start and end with "/" and contain
	// RedirectURL's path. The session cookie is scoped to it, the built-in
	// pages link home to it, a sign-in without a redirect parameter returns
	// to it, and PostLogoutRedirectURL defaults to it. Default: the directory
	// above AuthHandler's (RedirectURL https://example.com/app/auth/callback
	// gives "/app/"; /auth/callback gives "/").
	BasePath string

	// HTTPClient makes MSAL's calls to Entra. Default: http.DefaultTransport's
	// settings, which speak HTTP/2 to Entra (a herd of refreshes shares one
	// connection), keeping up to TokenConcurrency idle connections where
	// HTTP/1.1 is all there is (http.DefaultClient keeps 2, so every herd
	// would open new TLS connections). A client of your own should do the
	// same: an http.Transport with a TLSClientConfig or dialer of its own
	// speaks HTTP/2 only with ForceAttemptHTTP2 set; set MaxIdleConnsPerHost
	// too.
	// Against entratest use its Server.Client(). The middleware uses a copy
	// whose answers are cut at 1 MiB (a token answer is a few KiB).
	HTTPClient *http.Client
	// GraphURL is Microsoft Graph's base URL, without /v1.0, which
	// ConsentStatus and UnlistedScopes read. Default DefaultGraphURL; against
	// entratest use its Server.URL.
	GraphURL string
	// DisableInstanceDiscovery turns off MSAL's authority validation, for
	// private clouds and the entratest emulator.
	DisableInstanceDiscovery bool

	// Logger receives structured logs; it never sees tokens, codes or secrets.
	// Default slog.Default().
	Logger *slog.Logger
	// ErrorHandler writes the page for a request that cannot continue: status is
	// the suggested HTTP status and err wraps one of the package's sentinel errors
	// (see ConsentError). Default: a short HTML page drawn by RenderPage (JSON
	// for scripts) saying what happened and what the user can do.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, status int, err error)
	// RenderPage draws the middleware's pages in the app's layout: the
	// default ErrorHandler's error pages (declined, an administrator must
	// approve, not found, a form from another site, ...), the resume page
	// ("Almost done", whose form a script served by AuthHandler submits) and
	// the sign-out confirmation. It gets the status, title, message, links
	// and form (see Page), with the default text; it writes the status.
	// Default DefaultRenderPage.
	RenderPage func(w http.ResponseWriter, r *http.Request, p Page)
	// Now is the clock for token expiry and pending sign-in expiry. Default time.Now.
	Now func() time.Time
	// TokenCacheSize bounds the in-process cache of access tokens, in
	// accounts (each with its tokens for every scope set it used), and the
	// in-process memory of session cookies, in cookies. Default 10,000.
	TokenCacheSize int
	// TokenConcurrency bounds the MSAL calls in flight at once: refreshes at
	// Entra's token endpoint, code redemptions, app tokens. Each runs on an
	// MSAL client of its own (one shared by concurrent users over a
	// partitioned cache can miss tokens); clients are made when a call finds
	// none idle and kept, so a server holds as many as its busiest moment
	// needed. Default 256: a herd of users whose tokens expire together is
	// refreshed in about one round trip (one refresh per user; Entra expects
	// that and throttles repeats of the same request, not distinct users:
	// https://learn.microsoft.com/en-us/entra/msal/dotnet/advanced/client-and-server-throttling).
	// Microsoft publishes no request limit for workforce tenants; External ID
	// tenants allow 200 requests per second
	// (https://learn.microsoft.com/en-us/entra/external-id/customers/reference-service-limits):
	// with a token endpoint answering in 100-300 ms, 40 keeps below it.
	TokenConcurrency int

	// OnSignIn, when set, runs at every sign-in (and every consent round
	// trip, which signs the user in again with a fresh ID token), after
	// Entra's answer was checked and before the session records the user:
	// create or update the app's own user record there (key it by
	// Account.ObjectID and TenantID), keep Account.Groups or Claims if you
	// need them (the session does not), or refuse the sign-in by returning
	// a *SignInRefusedError, which ends on a 403 page showing its reason
	// (a user refused at a consent round trip is signed out). Any other
	// error fails the sign-in with ErrUnavailable (503, try again), and
	// signs that user out too. ctx is the callback request's. Default nil: every user Entra
	// signs in is accepted.
	OnSignIn func(ctx context.Context, acct Account) error
	// IsAdmin reports whether the signed-in user can grant tenant-wide (admin)
	// consent; RequireAdmin routes send such users straight to admin consent.
	// Default: the user's ID token carried a wids claim naming Global, Privileged
	// Role, Cloud Application or Application Administrator. Entra sends wids only
	// when the app registration asks for it (groupMembershipClaims
	// "DirectoryRole" or the wids optional claim); without it nobody is known to
	// be an admin, and admins go through the normal consent page, where Entra
	// offers them "Consent on behalf of your organization".
	IsAdmin func(r *http.Request, acct Account) bool
	// AllowedTenants, when not empty, lists the tenant ids whose users may sign
	// in. Users of other tenants get a page saying so (ErrTenantNotAllowed) and
	// their tokens are not kept; their admins cannot connect the tenant either.
	AllowedTenants []string
	// RequireOnboarding lets users sign in only from tenants whose admin went
	// through ConnectURL (or that AllowedTenants lists). Others get a page with
	// the connect link to pass to their admin (ErrTenantNotOnboarded).
	// Default false: any tenant Entra lets in. It needs ConnectRoles, so that
	// onboarding is proven by an app-only token carrying those roles rather
	// than by the app's mere presence in the tenant, which any user's own
	// consent creates.
	RequireOnboarding bool
	// ConnectScopes is what the connect endpoint asks a tenant's admin to
	// grant. Default: ["https://graph.microsoft.com/.default"], every permission
	// the app registration lists for Microsoft Graph, delegated and application.
	ConnectScopes []string
	// ConnectRoles are the application permissions (app roles, e.g.
	// "User.Read.All") a tenant must have granted for the connect endpoint to
	// record it as onboarded. The connect callback's admin_consent=True is
	// only a hint anyone can forge; the middleware then asks Entra for an
	// app-only token for the tenant and refuses the callback when the app is
	// not in the tenant (AADSTS700016, 7000229, 65001) or the token lacks one
	// of these roles. Default none: only the app's presence in the tenant is
	// checked, which a user's own consent also creates, so set it when
	// onboarding must prove an administrator's approval.
	ConnectRoles []string
	// ClientCapabilities are declared to Entra with every token request.
	// Continuous access evaluation (CAE) needs []string{"cp1"}: only then do
	// tokens carry xms_cc and do Microsoft Graph and other CAE-enabled APIs
	// answer with claims challenges (a 401 with insufficient_claims) instead
	// of accepting the token until it expires
	// (https://learn.microsoft.com/entra/identity-platform/claims-challenge).
	// Default none: no claims challenges from CAE.
	ClientCapabilities []string
	// MaxResumeBody bounds the body of a form POST kept server-side while
	// the user consents, so the request completes afterwards (other methods
	// come from scripts, which get a 401 instead of a round trip).
	// A larger body gets a 413 page before leaving for Entra. Default
	// DefaultMaxResumeBody (1 MiB); negative: never keep a body (413 page).
	// A post without a signed-in user (anyone can send one) is kept only up
	// to MaxAnonymousResumeBody.
	MaxResumeBody int64
	// MaxAttempts bounds the round trips to Entra one browser session may make
	// for one route's scopes within FlowTTL that come back without what the
	// route needs (an error callback such as a decline, a token still missing
	// the scopes, a claims challenge coming back); the next attempt ends on a
	// page (ErrLoopDetected) instead of going to Entra again. Faults of Entra or
	// the token store (503) and the user's own successful sign-ins do not
	// count, and a flow that succeeds resets the count for its scopes (claims
	// round trips excepted: each counts). Default DefaultMaxAttempts.
	MaxAttempts int
}

// Defaults of Config.
const (
	DefaultSessionName      = "consentry"
	DefaultSessionMaxAge    = 24 * time.Hour
	DefaultTokenCacheSize   = 10_000
	DefaultTokenConcurrency = 256
	DefaultMaxResumeBody    = 1 << 20
	DefaultMaxAttempts      = 3
	// DefaultFlowStoreBytes bounds the default in-process FlowStore: 16 MiB
	// (see Config.FlowStore for how it is shared out).
	DefaultFlowStoreBytes = 16 << 20
)

// Fixed behaviour. No setting changes these values; they are exported so
// that apps and their tests can name the limits their users meet.
const (
	// FlowTTL is how long a sign-in started by the middleware may take, and
	// the window in which Config.MaxAttempts round trips are counted.
	FlowTTL = 10 * time.Minute
	// RefreshMargin: an access token is used only while it is valid this much longer.
	RefreshMargin = 5 * time.Minute
	// MaxAnonymousResumeBody bounds the body of a post kept for a browser
	// with no signed-in user (see Config.MaxResumeBody): 16 KiB.
	MaxAnonymousResumeBody = 16 << 10
	// MaxChallengeBody bounds the body of a POST that Require records in case
	// its handler calls Challenge (see Middleware.Challenge): 64 KiB.
	MaxChallengeBody = 64 << 10
)

// settings is a validated Config with its defaults applied.
type settings struct {
	Config
	redirect  *url.URL
	localhost bool
	authPaths authPaths
	// flowCookieBase starts the names of flow cookies.
	flowCookieBase string
	// apiTransport is the transport of Config.HTTPClient as given: Client's
	// calls to the app's APIs are not cut like Entra's answers.
	apiTransport http.RoundTripper
}

// authPaths are the paths AuthHandler serves.
type authPaths struct{ signIn, callback, signOut, adminConsent, connect, resume string }

// has reports whether p is one of the paths.
func (a authPaths) has(p string) bool {
	return slices.Contains([]string{a.signIn, a.callback, a.signOut, a.adminConsent, a.connect, a.resume}, p)
}

func (c Config) validate() (*settings, error) {
	s := &settings{Config: c}
	for _, check := range []func(*settings) error{
		checkAuthority, checkClient, checkRedirect, checkBasePath, checkSessionKeys, checkOptional,
	} {
		if err := check(s); err != nil {
			return nil, err
		}
	}
	s.applyDefaults()
	return s, nil
}

func checkAuthority(s *settings) error {
	u, err := url.Parse(s.Authority)
	switch {
	case s.Authority == "":
		return fmt.Errorf("middleware: Config.Authority is empty: set it to https://login.microsoftonline.com/{tenant id|organizations|common}")
	case err != nil || u.Host == "":
		return fmt.Errorf("middleware: Config.Authority %q is not an absolute URL: use https://login.microsoftonline.com/{tenant}", s.Authority)
	case u.Scheme != "https":
		return fmt.Errorf("middleware: Config.Authority %q must use https (MSAL refuses http)", s.Authority)
	case strings.Trim(u.Path, "/") == "" || strings.Contains(strings.Trim(u.Path, "/"), "/"):
		return fmt.Errorf("middleware: Config.Authority %q must end with exactly one tenant path segment, e.g. https://login.microsoftonline.com/organizations", s.Authority)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("middleware: Config.Authority %q must not carry a query or fragment", s.Authority)
	}
	s.Authority = strings.TrimSuffix(s.Authority, "/")
	return nil
}

func checkClient(s *settings) error {
	if strings.TrimSpace(s.ClientID) == "" {
		return fmt.Errorf("middleware: Config.ClientID is empty: set the application (client) id of the app registration")
	}
	if reflect.ValueOf(s.Credential).IsZero() {
		return fmt.Errorf("middleware: Config.Credential is empty: use confidential.NewCredFromSecret, NewCredFromCert or NewCredFromAssertionCallback")
	}
	return nil
}

func checkRedirect(s *settings) error {
	u, err := url.Parse(s.RedirectURL)
	if s.RedirectURL == "" || err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("middleware: Config.RedirectURL %q must be an absolute URL such as https://app.example/auth/callback", s.RedirectURL)
	}
	host := u.Hostname()
	s.localhost = host == "localhost" || (net.ParseIP(host) != nil && net.ParseIP(host).IsLoopback())
	switch {
	case u.Scheme == "http" && !s.localhost:
		return fmt.Errorf("middleware: Config.RedirectURL %q must use https (http is allowed only for localhost and 127.0.0.1)", s.RedirectURL)
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("middleware: Config.RedirectURL %q must use https", s.RedirectURL)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("middleware: Config.RedirectURL %q must not carry a query or fragment", s.RedirectURL)
	case u.Path == "" || u.Path == "/" || strings.HasSuffix(u.Path, "/"):
		return fmt.Errorf("middleware: Config.RedirectURL %q needs a path that names the callback, e.g. /auth/callback", s.RedirectURL)
	case strings.ContainsAny(u.Path, "{}") || path.Clean(u.Path) != u.Path || strings.Contains(strings.ToUpper(u.EscapedPath()), "%2F"):
		return fmt.Errorf("middleware: Config.RedirectURL %q needs a clean path without braces or escaped slashes, e.g. /auth/callback", s.RedirectURL)
	}
	s.redirect = u
	dir := path.Dir(u.Path)
	s.authPaths = authPaths{signIn: path.Join(dir, "signin"), callback: u.Path, signOut: path.Join(dir, "signout")}
	if slices.Contains([]string{"signin", "signout", "adminconsent", "connect", "resume"}, path.Base(u.Path)) {
		return fmt.Errorf("middleware: Config.RedirectURL path %q collides with the sign-in, sign-out, adminconsent, connect or resume paths: use e.g. %s", u.Path, path.Join(dir, "callback"))
	}
	return nil
}

func checkSessionKeys(s *settings) error {
	if len(s.SessionKeys) == 0 {
		return fmt.Errorf("middleware: Config.SessionKeys is empty: give at least one 32- or 64-byte random hash key (and a 32-byte block key to encrypt the cookie)")
	}
	for i, k := range s.SessionKeys {
		if i%2 == 0 && len(k) != 32 && len(k) != 64 {
			return fmt.Errorf("middleware: Config.SessionKeys[%d] is a hash key of %d bytes: it must be 32 or 64 random bytes%s", i, len(k), encodedKeyHint(k))
		}
		if i%2 == 1 && len(k) != 0 && len(k) != 16 && len(k) != 24 && len(k) != 32 {
			return fmt.Errorf("middleware: Config.SessionKeys[%d] is a block key of %d bytes: it must be 16, 24 or 32 random bytes, or nil%s", i, len(k), encodedKeyHint(k))
		}
	}
	return nil
}

func checkOptional(s *settings) error {
	if s.PostLogoutRedirectURL != "" {
		u, err := url.Parse(s.PostLogoutRedirectURL)
		if err != nil || !u.IsAbs() || (u.Scheme != "https" && !(u.Scheme == "http" && s.localhost)) {
			return fmt.Errorf("middleware: Config.PostLogoutRedirectURL %q must be an absolute https URL", s.PostLogoutRedirectURL)
		}
	}
	if s.Sessions != nil && s.AppSession != nil {
		return fmt.Errorf("middleware: Config.Sessions and Config.AppSession are both set: keep one")
	}
	if s.SessionName != "" && strings.ContainsAny(s.SessionName, " ;,=\"\t\r\n") {
		return fmt.Errorf("middleware: Config.SessionName %q is not a valid cookie name", s.SessionName)
	}
	if s.TokenCacheSize < 0 || s.TokenConcurrency < 0 || s.SessionMaxAge < 0 || s.MaxAttempts < 0 {
		return fmt.Errorf("middleware: Config.TokenCacheSize, TokenConcurrency, SessionMaxAge and MaxAttempts must not be negative")
	}
	return checkTenants(s)
}

func checkTenants(s *settings) error {
	if s.RequireOnboarding && len(s.ConnectRoles) == 0 {
		return fmt.Errorf("middleware: Config.RequireOnboarding needs Config.ConnectRoles: name an application permission " +
			"your app registration requires (e.g. \"User.Read.All\") so the connect callback can be verified with an app-only token")
	}
	for i, t := range s.AllowedTenants {
		if strings.TrimSpace(t) == "" || strings.ContainsAny(t, "/?# ") {
			return fmt.Errorf("middleware: Config.AllowedTenants[%d] %q is not a tenant id", i, t)
		}
	}
	if len(s.ConnectScopes) > 0 {
		if _, _, err := scope.Route(s.ConnectScopes); err != nil {
			return fmt.Errorf("middleware: Config.ConnectScopes: %w", err)
		}
	}
	return nil
}

func (s *settings) applyDefaults() {
	if s.SessionName == "" {
		s.SessionName = DefaultSessionName
	}
	s.applyCookieNames()
	if s.SessionMaxAge == 0 {
		s.SessionMaxAge = DefaultSessionMaxAge
	}
	if s.PostLogoutRedirectURL == "" {
		s.PostLogoutRedirectURL = s.redirect.Scheme + "://" + s.redirect.Host + s.BasePath
	}
	if s.HTTPClient == nil {
		s.HTTPClient = entraClient(cmp.Or(s.TokenConcurrency, DefaultTokenConcurrency))
	}
	s.apiTransport = s.HTTPClient.Transport
	s.HTTPClient = limitClient(s.HTTPClient, maxEntraResponse)
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.ErrorHandler == nil {
		s.ErrorHandler = DefaultErrorHandler
	}
	if s.RenderPage == nil {
		s.RenderPage = DefaultRenderPage
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.TokenCacheSize == 0 {
		s.TokenCacheSize = DefaultTokenCacheSize
	}
	if s.TokenConcurrency == 0 {
		s.TokenConcurrency = DefaultTokenConcurrency
	}
	if s.MaxResumeBody == 0 {
		s.MaxResumeBody = DefaultMaxResumeBody
	}
	if s.MaxAttempts == 0 {
		s.MaxAttempts = DefaultMaxAttempts
	}
	if len(s.ConnectScopes) == 0 {
		s.ConnectScopes = []string{scope.AppDefault(nil)}
	}
	s.authPaths.adminConsent = path.Join(path.Dir(s.authPaths.callback), "adminconsent")
	s.authPaths.connect = path.Join(path.Dir(s.authPaths.callback), "connect")
	s.authPaths.resume = path.Join(path.Dir(s.authPaths.callback), "resume")
}
