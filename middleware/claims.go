package middleware

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/consentry/consentry/middleware/internal/protocol"
)

// ClaimsChallengeError is an API's refusal of the user's token with a claims
// challenge: 401 and WWW-Authenticate: Bearer error="insufficient_claims",
// claims="<base64>" (Conditional Access, continuous access evaluation).
// errors.Is(err, ErrClaimsChallenge) holds. Pass it to Middleware.Challenge.
type ClaimsChallengeError struct {
	Claims string   // the decoded claims request (JSON) to send to Entra
	Scopes []string // the route's scopes, whose token was refused
	Status int      // the API's HTTP status (401)
	URL    string   // app-relative sign-in URL that carries the claims (for scripts)
}

// Error says which API status carried the claims challenge and for which scopes.
func (e *ClaimsChallengeError) Error() string {
	return fmt.Sprintf("middleware: the API answered %d with a claims challenge for %s", e.Status, strings.Join(e.Scopes, " "))
}

// Unwrap returns ErrClaimsChallenge.
func (e *ClaimsChallengeError) Unwrap() error { return ErrClaimsChallenge }

// Transport returns an http.RoundTripper for calls from a Require-wrapped
// handler to the route's API: it sets Authorization: Bearer with r's token and
// turns a claims challenge into a *ClaimsChallengeError (http.Client wraps it
// in a *url.Error; errors.As finds it), after dropping the refused token from
// the middleware's fast path. base nil means http.DefaultTransport. Without a
// token in r's context every call fails with ErrNotSignedIn; after Close every
// call fails with an error wrapping ErrClosed and ErrUnavailable, without
// reaching the API.
func (m *Middleware) Transport(r *http.Request, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	ai, _ := r.Context().Value(ctxKey{}).(*authInfo)
	return &claimsTransport{m: m, ai: ai, base: base, ret: m.returnURL(r)}
}

// Client returns an http.Client using Transport(r, base), where base is the
// transport of Config.HTTPClient (http.DefaultTransport if it has none).
// After Close its calls fail (ErrClosed, wrapped by http.Client in a *url.Error).
func (m *Middleware) Client(r *http.Request) *http.Client {
	return &http.Client{Transport: m.Transport(r, m.cfg.apiTransport)}
}

type claimsTransport struct {
	m    *Middleware
	ai   *authInfo
	base http.RoundTripper
	ret  string
}

// RoundTrip implements http.RoundTripper.
func (t *claimsTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var err error
	switch {
	case t.m.life.isClosed():
		err = fmt.Errorf("%w: %w: Transport used after Close", ErrUnavailable, ErrClosed)
	case t.ai == nil:
		err = fmt.Errorf("%w: Transport needs a request that went through Require", ErrNotSignedIn)
	}
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r2 := req.Clone(req.Context())
	t.ai.tok.SetAuthHeader(r2)
	resp, err := t.base.RoundTrip(r2)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	c, ok := protocol.ParseBearer(resp.Header.Values("WWW-Authenticate"))
	if !ok || c["error"] != "insufficient_claims" {
		return resp, nil
	}
	claims, ok := protocol.DecodeClaims(c["claims"])
	if !ok {
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	t.m.forget(t.ai)
	return nil, &ClaimsChallengeError{Claims: claims, Scopes: t.ai.tok.Scopes, Status: resp.StatusCode,
		URL: t.m.signInWithClaims(t.ret, t.ai.tok.Scopes, claims)}
}

// signInWithClaims is SignInURL carrying a claims request.
func (m *Middleware) signInWithClaims(ret string, scopes []string, claims string) string {
	return m.SignInURL(ret, scopes...) + "&" + url.Values{"claims": {claims}}.Encode()
}

// Challenge answers a request whose handler got a claims challenge from an
// API, or an error from Token that needs the user: if err holds a
// *ClaimsChallengeError, a browser is sent through an interactive sign-in
// carrying the claims and comes back to r's URL; if it holds Token's
// *ConsentError (errors.Is(err, ErrInteractionRequired)), a browser is sent
// through sign-in and consent for just that error's scopes and comes back.
// A script gets 401 with the sign-in URL, the JSON Require answers. A
// browser's form POST is kept like one Require keeps before consent: Require records the body while the
// handler reads it (up to MaxChallengeBody, 64 KiB, or Config.MaxResumeBody
// if smaller), Challenge reads what is left, and after the sign-in the form
// is posted again, once, with its original body. When it cannot be kept
// (larger than that limit, or r did not come through Require) the user gets
// a page (401, or 413 when too large) saying to sign in again and send the
// form again, with a sign-in link that returns to the page the form was on.
// A POST from another site (see ErrCrossSiteForm) is never kept: it ends on
// a 403 page asking to send the form again from the app. It returns true
// when it answered, false (writing nothing) for any other error. The loop
// guard applies: a challenge that keeps coming back ends on a page.
func (m *Middleware) Challenge(w http.ResponseWriter, r *http.Request, err error) bool {
	var ce *ClaimsChallengeError
	if !errors.As(err, &ce) || len(ce.Scopes) == 0 {
		return m.challengeToken(w, r, err)
	}
	m.log.InfoContext(r.Context(), "middleware: claims challenge", "path", r.URL.Path, "scopes", logScopes(ce.Scopes))
	m.reauthorize(w, r, reauth{scopes: ce.Scopes, claims: ce.Claims, reason: err,
		url: func(ret string) string { return m.signInWithClaims(ret, ce.Scopes, ce.Claims) }})
	return true
}

// errFormNotKept: Challenge on a POST whose body could not be kept.
var errFormNotKept = fmt.Errorf("%w: the form could not be kept across the new sign-in", ErrClaimsChallenge)

// formNotKept is the page of a POST whose form could not be kept: sign in
// again (with ra's claims and scopes) from the page the form was on, then
// send it again.
func (m *Middleware) formNotKept(r *http.Request, ra reauth, err error) error {
	ret, ok := m.pageOf(r.Referer())
	if !ok || !m.sameOrigin(r) {
		ret = m.cfg.BasePath
	}
	return &ConsentError{Scopes: ra.scopes, URL: ra.url(ret), kind: errFormNotKept, cause: err}
}
