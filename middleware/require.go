package middleware

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/consentry/consentry/middleware/internal/entraerr"
	"github.com/consentry/consentry/middleware/internal/protocol"
	"github.com/consentry/consentry/middleware/internal/returnurl"
)

// route is one Require declaration.
type route struct {
	scopes []string
	key    string // canonical scope key
	id     uint32 // number of key in the fast path (fastpath.go)
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
	clean, key, err := protocol.Route(scopes)
	if err != nil {
		panic("middleware: Require: " + err.Error())
	}
	rt := &route{scopes: clean, key: key, id: m.routes.id(key)}
	m.declared.add(clean)
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("middleware: Require(...) applied to a nil handler")
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.serveRoute(w, r, rt, next)
		})
	}
}

func (m *Middleware) serveRoute(w http.ResponseWriter, r *http.Request, rt *route, next http.Handler) {
	if m.refuseClosed(w, r) {
		return
	}
	r, ok := m.resumed(w, r) // resume.go: the re-post of a form kept across consent
	if !ok {
		return
	}
	r = m.recordBody(r)             // recorder.go: a form post Challenge may have to keep
	ai, raw, ok := m.fastGet(r, rt) // fastpath.go: one lookup, no cookie decoding
	if ok {
		next.ServeHTTP(w, withAuth(r, ai))
		return
	}
	acct, memoUntil, decoded := m.sessionAccountFrom(r)
	if acct.HomeAccountID == "" {
		m.needUser(w, r, rt, ErrNotSignedIn)
		return
	}
	if raw != decoded {
		raw = "" // not the cookie the session came from: no fast-path entry
	}
	ai, ok = m.tokens.Get(tokenOwner(acct), rt.id, math.MinInt64)
	if !ok || !ai.tok.ExpiresOn.After(m.cfg.Now().Add(RefreshMargin)) {
		var err error
		if ai, err = m.silent(r.Context(), acct, rt); err != nil {
			m.silentFailed(w, r, rt, acct, err)
			return
		}
	}
	m.fastPut(raw, rt, ai, memoUntil)
	next.ServeHTTP(w, withAuth(r, ai))
}

// silentError is a classified AcquireTokenSilent failure. It is built once by
// the call that failed and shared with callers that waited for it.
type silentError struct {
	kind  entraerr.Kind
	entra *entraerr.Error
	err   error
}

func (e *silentError) Error() string { return fmt.Sprintf("silent token (%s): %v", e.kind, e.err) }
func (e *silentError) Unwrap() error { return e.err }

// silent gets a token from MSAL (its cache, else a refresh), one call per
// account and scope set at a time, and remembers it in the in-process cache.
func (m *Middleware) silent(ctx context.Context, acct Account, rt *route) (*authInfo, error) {
	fk := tokenOwner(acct) + "\x00" + rt.key
	ai, _, err := m.flight.Do(ctx, fk, func(ctx context.Context) (*authInfo, error) {
		ctx, done, err := m.cfg.perf.life.enter(ctx) // Close cancels and waits
		if err != nil {
			return nil, &silentError{kind: entraerr.Unavailable, err: err}
		}
		defer done()
		ctx, cancel := context.WithTimeout(ctx, silentTimeout)
		defer cancel()
		var ar confidential.AuthResult
		err = m.cfg.perf.retry.do(ctx, func(ctx context.Context, timeout time.Duration) error { // Entra 5xx, timeouts
			return m.clients.withTimeout(ctx, timeout, func(ctx context.Context, c confidential.Client) (err error) {
				ar, err = c.AcquireTokenSilent(ctx, rt.scopes, confidential.WithSilentAccount(acct.msal()))
				return err
			})
		})
		if err != nil {
			kind, e := entraerr.Classify(err)
			return nil, &silentError{kind: kind, entra: e, err: err}
		}
		return m.remember(acct, rt.scopes, rt.key, ar), nil
	})
	return ai, err
}

// remember puts a token into the in-process cache and returns it.
func (m *Middleware) remember(acct Account, scopes []string, key string, ar confidential.AuthResult) *authInfo {
	return m.keepToken(acct, Token{AccessToken: ar.AccessToken, ExpiresOn: ar.ExpiresOn, Scopes: scopes}, key)
}

// keepToken puts tok, for the scope set whose canonical key is key, into the
// in-process cache (bounded by Config.TokenCacheSize) and returns it.
func (m *Middleware) keepToken(acct Account, tok Token, key string) *authInfo {
	ai := &authInfo{tok: tok}
	ai.tok.AccessToken, ai.acct = acct.packedWith(tok.AccessToken) // one string object per token
	m.tokens.Put(tokenOwner(acct), m.routes.id(key), m.tokens.GroupHash(acct.HomeAccountID), ai, math.MaxInt64)
	return ai
}

func (m *Middleware) silentFailed(w http.ResponseWriter, r *http.Request, rt *route, acct Account, err error) {
	var se *silentError
	if !errors.As(err, &se) { // the caller's context ended while waiting
		se = &silentError{kind: entraerr.Canceled, err: err}
	}
	switch se.kind {
	case entraerr.NeedsUser:
		m.log.InfoContext(r.Context(), "middleware: interactive sign-in needed",
			"path", r.URL.Path, "scopes", rt.key, "account", acct.HomeAccountID, "reason", se.err)
		m.needUser(w, r, rt, fmt.Errorf("%w: %w", ErrInteractionRequired, se))
	case entraerr.Canceled:
		if r.Context().Err() != nil {
			return // the client is gone; nobody reads an answer
		}
		m.fail(w, r, fmt.Errorf("%w: %w", ErrUnavailable, se))
	default:
		m.fail(w, r, fmt.Errorf("%w: token for %s: %w", ErrUnavailable, rt.key, se))
	}
}

// needUser sends the user to Entra for rt's scopes: a redirect for browsers, a
// 401 JSON answer for scripts.
func (m *Middleware) needUser(w http.ResponseWriter, r *http.Request, rt *route, reason error) {
	ret := returnurl.Or(r.URL.RequestURI(), "/")
	if isScript(r) {
		m.scriptChallenge(w, r, rt.scopes, m.SignInURL(ret, rt.scopes...), reason)
		return
	}
	m.interactive(w, r, rt, ret) // adminconsent.go: admin consent, kept POST bodies
}

// isScript reports whether r comes from a script rather than a page
// navigation: XMLHttpRequest's marker, fetch()'s Fetch metadata
// (Sec-Fetch-Dest empty, or a Sec-Fetch-Mode other than navigate), or an
// Accept asking for JSON but not HTML.
func isScript(r *http.Request) bool {
	if r.Header.Get("X-Requested-With") == "XMLHttpRequest" || r.Header.Get("Sec-Fetch-Dest") == "empty" {
		return true
	}
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" && mode != "navigate" {
		return true
	}
	a := r.Header.Get("Accept")
	a = strings.ToLower(a)
	return strings.Contains(a, "json") && !strings.Contains(a, "text/html")
}
