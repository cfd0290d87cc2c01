package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/consentry/consentry/middleware/internal/entraerr"
	"github.com/consentry/consentry/middleware/internal/scope"
)

// Token returns an access token for scopes on behalf of the user signed in on
// r, from any handler: one wrapped by Require (for other scopes than the
// route's, or another resource's) or none. It looks in the in-process cache,
// then asks MSAL silently (its cache, else a refresh token), once per user and
// scope set however many requests ask at the same moment, retrying Entra's
// faults like Require does. It never writes to the response.
//
// Scopes name one resource, as for Require ("Calendars.Read",
// "api://{client id}/access_as_user"). When the token needs the user (not
// signed in, consent missing, MFA, an expired refresh token) the error is a
// *ConsentError (errors.Is(err, ErrInteractionRequired) holds; ErrNotSignedIn
// when nobody is signed in, ErrConsentRequired when Entra said consent is
// missing) whose URL asks for exactly these scopes and returns to r. Hand it
// to Challenge, which sends a browser through Entra and back to r (a form
// POST through Require is kept and posted again) or answers a script with
// 401 and JSON, as Require does:
//
//	tok, err := mw.Token(r, "Calendars.Read")
//	if mw.Challenge(w, r, err) {
//		return
//	}
//	if err != nil { // ErrUnavailable: Entra or the token store failed
//		http.Error(w, "try again later", http.StatusServiceUnavailable)
//		return
//	}
//
// A handler calling several APIs calls Token once per resource; each missing
// consent is one round trip, after which the handler runs again. Scopes
// come from the app's code: each distinct set takes a slot in the in-process
// cache's index for the life of the Middleware, and is allowed in sign-in
// links; past 1024 distinct sets Token fails with ErrInvalidRequest. After
// Close it fails with ErrClosed.
func (m *Middleware) Token(r *http.Request, scopes ...string) (Token, error) {
	rt, err := m.tokenRoute(scopes)
	if err != nil {
		return Token{}, err
	}
	acct, ok := m.requestAccount(r)
	if !ok {
		return Token{}, &ConsentError{Scopes: rt.scopes, URL: m.SignInURL(m.returnURL(r), rt.scopes...), kind: ErrNotSignedIn,
			cause: ErrInteractionRequired}
	}
	ai, err := m.tokenFor(r.Context(), acct, rt)
	if err != nil {
		return Token{}, m.tokenError(r.Context(), acct, rt, m.returnURL(r), err)
	}
	return ai.tok, nil
}

// tokenRoute validates scopes given to Token or AccountToken, once per
// spelling: the same call site asks for the same scopes on every request.
func (m *Middleware) tokenRoute(scopes []string) (*route, error) {
	if m.life.isClosed() {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, ErrClosed)
	}
	spelled := ""
	if len(scopes) == 1 {
		spelled = scopes[0]
	} else {
		spelled = strings.Join(scopes, " ")
	}
	// A single scope holding a space is invalid, and must not find the set
	// whose scopes it spells.
	if rt, ok := m.tokenRts.Load(spelled); ok && (len(scopes) > 1 || !strings.Contains(spelled, " ")) {
		return rt.(*route), nil
	}
	if m.tokenRtN.Load() >= maxTokenScopeSets {
		return nil, fmt.Errorf("%w: Token and AccountToken were given more than %d distinct scope sets: "+
			"scopes must come from the app's code, never from a request", ErrInvalidRequest, maxTokenScopeSets)
	}
	clean, key, err := scope.Route(scopes)
	if err != nil {
		return nil, fmt.Errorf("%w: token scopes: %s", ErrInvalidRequest, err)
	}
	m.declared.add(clean) // the app asks for them: its sign-in links may too
	rt, loaded := m.tokenRts.LoadOrStore(spelled, &route{scopes: clean, key: key, id: m.routes.id(key)})
	if !loaded {
		m.tokenRtN.Add(1)
	}
	return rt.(*route), nil
}

// maxTokenScopeSets bounds the scope sets Token and AccountToken remember
// (and declare to the sign-in endpoint): far more than an app's code spells,
// so that scopes taken from requests by mistake can neither grow memory
// without end nor let anyone declare any scope for the sign-in links.
const maxTokenScopeSets = 1024

// requestAccount is the account of a request that went through Require, or
// else the one its session names.
func (m *Middleware) requestAccount(r *http.Request) (Account, bool) {
	if ai, ok := r.Context().Value(ctxKey{}).(*authInfo); ok {
		return *ai.acct, true
	}
	return m.Account(r)
}

// tokenFor returns acct's token for rt from the in-process cache while it is
// valid for more than RefreshMargin, else from MSAL (silent).
func (m *Middleware) tokenFor(ctx context.Context, acct Account, rt *route) (*authInfo, error) {
	ai, ok := m.keptToken(acct, rt)
	if ok && m.fresh(ai) {
		return ai, nil
	}
	return m.silent(ctx, acct, rt)
}

// tokenError turns a failed silent acquisition into Token's error: a
// *ConsentError returning to ret when the user is needed, else the cause
// wrapped in ErrUnavailable (or the caller's context error).
func (m *Middleware) tokenError(ctx context.Context, acct Account, rt *route, ret string, err error) error {
	var se *silentError
	if !errors.As(err, &se) { // the caller's context ended while waiting
		se = &silentError{kind: entraerr.Canceled, err: err}
	}
	switch se.kind {
	case entraerr.NeedsUser:
		m.log.InfoContext(ctx, "middleware: token needs the user", "scopes", rt.key,
			"account", acct.HomeAccountID, "reason", se.err)
		return m.needsUserError(rt.scopes, ret, se)
	case entraerr.Canceled:
		if ctx.Err() != nil {
			return fmt.Errorf("middleware: token for %s: %w", rt.key, ctx.Err())
		}
	}
	return fmt.Errorf("%w: token for %s: %w", ErrUnavailable, rt.key, se)
}

// needsUserError is the *ConsentError of a silent failure that needs the
// user, with a sign-in URL for scopes that returns to ret.
func (m *Middleware) needsUserError(scopes []string, ret string, se *silentError) *ConsentError {
	cause := fmt.Errorf("%w: %w", ErrInteractionRequired, se)
	u := m.SignInURL(ret, scopes...)
	if se.entra == nil {
		return &ConsentError{Scopes: scopes, URL: u, kind: ErrInteractionRequired, cause: cause}
	}
	return newConsentError(se.entra, scopes, u, cause)
}

// needsInteraction reports whether err, from Token, asks for the user at
// Entra, and returns its *ConsentError.
func needsInteraction(err error) (*ConsentError, bool) {
	var ce *ConsentError
	if !errors.As(err, &ce) || len(ce.Scopes) == 0 {
		return nil, false
	}
	return ce, errors.Is(ce, ErrInteractionRequired)
}
