package middleware

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/consentry/consentry/middleware/internal/entraerr"
	"github.com/consentry/consentry/middleware/internal/flowstore"
	"github.com/consentry/consentry/middleware/internal/protocol"
	"github.com/consentry/consentry/middleware/internal/scope"
)

// route is one Require declaration.
type route struct {
	scopes []string
	key    string // canonical scope key
	id     uint32 // number of key in the in-process caches (routeIDs)
	admin  bool   // declared by RequireAdmin
}

// Require returns middleware that lets a request through only with an access
// token for scopes, found in the context by TokenFromContext. It works with any
// router (net/http ServeMux patterns, chi, gorilla/mux).
//
// Scopes name one resource: Graph short names ("User.Read", "Mail.Read"),
// full URIs ("https://graph.microsoft.com/Mail.Read") or an API's
// ("api://{client id}/{scope}"). Require panics, like ServeMux.Handle, on a
// programming error: no scopes, an empty scope or one with spaces, a duplicate,
// an OpenID Connect scope (openid, profile, offline_access, email: the
// middleware adds them), or scopes of two resources (a token has one audience).
//
// A request without a signed-in user, or whose token needs consent, goes to
// Entra for exactly these scopes and comes back to the same URL: browsers get a
// 302; scripts (Accept with JSON but not HTML, X-Requested-With:
// XMLHttpRequest, or fetch()'s Sec-Fetch-Dest: empty or a Sec-Fetch-Mode
// other than navigate) get 401 with a JSON body and a WWW-Authenticate header naming
// the sign-in URL. A failure of Entra or the token store gives 503, never a
// redirect. A browser's form POST that must go to Entra first is kept
// server-side (up to Config.MaxResumeBody) and completes once afterwards, with
// its original body, if it came from the app's own pages; another site's
// form gets a 403 page instead (ErrCrossSiteForm). Entra answers needing an administrator end on the
// approval page (see RequireAdmin); repeated round trips for the same scopes
// stop after Config.MaxAttempts (ErrLoopDetected).
func (m *Middleware) Require(scopes ...string) func(http.Handler) http.Handler {
	return m.protect("Require", scopes, false)
}

// RequireAdmin is Require for scopes only an administrator can grant (e.g.
// "User.Read.All"). A signed-in admin (Config.IsAdmin) who needs them goes
// straight to Entra's admin-consent endpoint and grants them for the whole
// organization, unless the tenant already did so through this middleware;
// then the request resumes. Anyone else goes to Entra's authorize endpoint as
// with Require (an admin may have granted the scopes another way): if Entra
// answers that an admin must approve (AADSTS90094 and kin), the user gets
// the "your administrator must approve" page (403, ErrAdminConsentRequired)
// with a link to pass to an admin (ConsentError.AdminConsentURL) and a way
// to try again. Routes wrapped by Require get the same page from the same
// Entra answer; RequireAdmin only saves admins a round trip.
func (m *Middleware) RequireAdmin(scopes ...string) func(http.Handler) http.Handler {
	return m.protect("RequireAdmin", scopes, true)
}

// protect is Require (admin false) and RequireAdmin (admin true); name is
// the caller's, for its panics.
func (m *Middleware) protect(name string, scopes []string, admin bool) func(http.Handler) http.Handler {
	clean, key, err := scope.Route(scopes)
	if err != nil {
		panic("middleware: " + name + ": " + err.Error())
	}
	rt := &route{scopes: clean, key: key, id: m.routes.id(key), admin: admin}
	m.declared.add(clean)
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("middleware: " + name + "(...) applied to a nil handler")
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.serveRoute(w, r, rt, next)
		})
	}
}

// serveRoute serves one request to a protected route: the in-process token
// path first, else the session, a silent acquisition, or a round trip.
func (m *Middleware) serveRoute(w http.ResponseWriter, r *http.Request, rt *route, next http.Handler) {
	if m.refuseClosed(w, r) {
		return
	}
	r, ok := m.resumed(w, r) // the re-post of a form kept across consent
	if !ok {
		return
	}
	r = m.recordBody(r)             // a form post Challenge may have to keep
	ai, raw, ok := m.fastGet(r, rt) // one lookup, no cookie decoding
	if ok {
		next.ServeHTTP(w, withAuth(r, ai))
		return
	}
	acct, memoUntil, decoded := m.sessionAccountFrom(r)
	if acct.HomeAccountID == "" {
		m.needUser(w, r, rt, ErrNotSignedIn, "")
		return
	}
	if raw != decoded {
		raw = "" // not the cookie the session came from: no fast-path entry
	}
	ai, err := m.tokenFor(r.Context(), acct, rt)
	if err != nil {
		m.silentFailed(w, r, rt, acct, err)
		return
	}
	m.fastPut(raw, rt, ai, memoUntil)
	next.ServeHTTP(w, withAuth(r, ai))
}

// silentTimeout bounds one silent token acquisition (cache read plus refresh).
const silentTimeout = 30 * time.Second

// silentError is a classified AcquireTokenSilent failure. It is built once by
// the call that failed and shared with callers that waited for it.
type silentError struct {
	kind  entraerr.Kind
	entra *entraerr.Error
	err   error
}

func (e *silentError) Error() string { return fmt.Sprintf("silent token (%s): %v", e.kind, e.err) }

func (e *silentError) Unwrap() error { return e.err }

// maxClaims bounds a claims request carried to authorize (AuthHandler's
// sign-in endpoint takes no longer one).
const maxClaims = 4096

// claims is the claims request of an Entra refusal that needs the user, as
// Conditional Access sends at refresh (interaction_required with claims and
// a suberror such as basic_action). The next authorize request must carry
// it, or the policy is never satisfied and the user loops
// (https://learn.microsoft.com/entra/identity-platform/developer-guide-conditional-access-authentication-context).
// It is "" when there is none, or it is not a JSON object of bounded size.
func (e *silentError) claims() string {
	if e.entra == nil || e.entra.Claims == "" {
		return ""
	}
	c, ok := protocol.DecodeClaims(e.entra.Claims)
	if !ok || len(c) > maxClaims {
		return ""
	}
	return c
}

// silent gets a token: read from the shared cache in the caller's goroutine
// (concurrent reads of one user are harmless), else from MSAL (its cache,
// else a refresh), one MSAL call per account and scope set at a time. It
// remembers the token in the in-process cache. The cache read and the MSAL
// call share one time budget (silentTimeout): a slow store does not make
// the request wait twice.
func (m *Middleware) silent(ctx context.Context, acct Account, rt *route) (*authInfo, error) {
	deadline := time.Now().Add(cmp.Or(m.silentLimit, silentTimeout))
	if ai, ok, err := m.coldToken(ctx, deadline, acct, rt); ok || err != nil {
		return ai, err
	}
	fk := tokenOwner(acct) + "\x00" + rt.key
	// A caller that joins a call started by another waits until its own
	// deadline, not until the starter's (later) one.
	wait, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	ai, _, err := m.flight.Do(wait, fk, func(ctx context.Context) (*authInfo, error) {
		ctx, done, err := m.life.enterUntil(ctx, deadline) // Close cancels and waits
		if err != nil {
			return nil, &silentError{kind: entraerr.Unavailable, err: err}
		}
		defer done()
		if ai, ok := m.keptToken(acct, rt); ok && m.fresh(ai) { // a call that just ended got it
			return ai, nil
		}
		var ar confidential.AuthResult
		err = m.retry.do(ctx, func(ctx context.Context, timeout time.Duration) error { // Entra 5xx, timeouts
			return m.clients.withTimeout(ctx, timeout, func(ctx context.Context, c confidential.Client) (err error) {
				ar, err = c.AcquireTokenSilent(ctx, rt.scopes, confidential.WithSilentAccount(acct.msal()))
				return err
			})
		})
		if err != nil {
			kind, e := entraerr.Classify(err)
			return nil, &silentError{kind: kind, entra: e, err: err}
		}
		return m.remember(acct, rt.scopes, rt.id, ar), nil
	})
	return ai, err
}

func (m *Middleware) silentFailed(w http.ResponseWriter, r *http.Request, rt *route, acct Account, err error) {
	var se *silentError
	if !errors.As(err, &se) { // the caller's context ended while waiting
		se = &silentError{kind: entraerr.Canceled, err: err}
	}
	switch se.kind {
	case entraerr.NeedsUser:
		m.log.DebugContext(r.Context(), "middleware: interactive sign-in needed", append([]any{
			"path", r.URL.Path, "scopes", rt.key, "account", acct.HomeAccountID}, needUserAttrs(se)...)...)
		m.needUser(w, r, rt, fmt.Errorf("%w: %w", ErrInteractionRequired, se), se.claims())
	case entraerr.Canceled:
		if r.Context().Err() != nil {
			return // the client is gone; nobody reads an answer
		}
		m.fail(w, r, fmt.Errorf("%w: %w", ErrUnavailable, se))
	default:
		m.fail(w, r, fmt.Errorf("%w: token for %s: %w", ErrUnavailable, rt.key, se))
	}
}

// needUser sends the user to Entra for rt's scopes, carrying claims (a
// claims request, or ""): a redirect for browsers, a 401 JSON answer for
// scripts.
func (m *Middleware) needUser(w http.ResponseWriter, r *http.Request, rt *route, reason error, claims string) {
	ret := m.returnURL(r)
	if isScript(r) {
		back := m.scriptReturn(r)
		u := m.SignInURL(back, rt.scopes...)
		if claims != "" {
			u = m.signInWithClaims(back, rt.scopes, claims)
		}
		m.scriptChallenge(w, r, rt.scopes, u, reason, claims)
		return
	}
	m.interactive(w, r, rt, ret, claims)
}

// challenge is the JSON body of a 401 answer to a script.
type challenge struct {
	Error       string   `json:"error"`
	Description string   `json:"error_description"`
	SignInURL   string   `json:"signin_url"`
	Scopes      []string `json:"scopes"`
}

// scriptChallenge answers a script that needs the user: 401, never a redirect
// (a script cannot follow one to a sign-in page).
func (m *Middleware) scriptChallenge(w http.ResponseWriter, r *http.Request, scopes []string, u string, reason error, claims string) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Consentry realm=%s, error="interaction_required", scope=%s, signin_url=%s`,
		quotedString(m.cfg.redirect.Host), quotedString(strings.Join(scopes, " ")), quotedString(u)))
	m.standardChallenge(w, r, scopes, u, reason, claims)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(challenge{
		Error:       "interaction_required",
		Description: describe(reason, scopes) + ": open signin_url in the browser to continue",
		SignInURL:   u,
		Scopes:      scopes,
	})
	m.log.DebugContext(r.Context(), "middleware: 401 to script", "path", r.URL.Path, "scopes", logScopes(scopes))
}

// describe says, without internal details, why the user is needed.
func describe(reason error, scopes []string) string {
	if errors.Is(reason, ErrNotSignedIn) {
		return "sign-in required"
	}
	if errors.Is(reason, ErrClaimsChallenge) {
		return "the API asks for a new sign-in (claims challenge) for " + strings.Join(scopes, " ")
	}
	return "sign-in or consent required for " + strings.Join(scopes, " ")
}

// interactive sends a browser to Entra for rt: admin consent for an admin on
// an admin route, else authorize (with claims, if any); a form post is kept
// to complete afterwards.
func (m *Middleware) interactive(w http.ResponseWriter, r *http.Request, rt *route, ret, claims string) {
	sess := m.loadSession(r)
	fr := flowRequest{scopes: rt.scopes, returnURL: ret, admin: rt.admin, claims: claims}
	if needsKeeping(r) {
		m.boundBodyRead(w)
		k, err := m.readKept(r, sess)
		if err != nil {
			m.fail(w, r, err)
			return
		}
		fr.keep = k
	}
	if rt.admin && sess.account.HomeAccountID != "" && m.isAdmin(r, sess) {
		granted, err := m.tenantGranted(r.Context(), sess.account.TenantID, rt.key)
		if err != nil {
			m.log.WarnContext(r.Context(), "middleware: tenant record unreadable, trying authorize", "err", err)
		}
		if err == nil && !granted {
			fr.kind = flowstore.KindAdminConsent
		}
	}
	m.startFlow(w, r, sess, fr)
}

// isAdmin reports whether the session's user can grant admin consent.
func (m *Middleware) isAdmin(r *http.Request, sess *session) bool {
	if m.cfg.IsAdmin != nil {
		return m.cfg.IsAdmin(r, sess.account)
	}
	return sess.admin
}
