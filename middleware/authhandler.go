package middleware

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/consentry/consentry/middleware/internal/returnurl"
	"github.com/consentry/consentry/middleware/internal/scope"
)

// AuthHandler serves the sign-in round trip. Its paths sit next to the path of
// Config.RedirectURL; for https://app.example/auth/callback they are:
//
//	GET  /auth/signin?redirect=/mail&scope=Mail.Read  start sign-in (and consent for scope, optional),
//	                                                   then return to redirect (a path on this site; default /);
//	                                                   prompt=select_account: Entra's account picker (SwitchAccountURL)
//	GET  /auth/callback                                 the redirect URI Entra answers to
//	POST /auth/signout (or GET)                         forget the user and their tokens, then Entra's logout;
//	                                                    only from this site (Sec-Fetch-Site, Origin or Referer),
//	                                                    else a page with a sign-out button (no logout CSRF)
//	GET  /auth/adminconsent?redirect=/dir&scope=User.Read.All  admin consent for scopes (see AdminConsentURL)
//	GET  /auth/connect?redirect=/&tenant=id             tenant onboarding (see ConnectURL)
//	GET  /auth/resume?id=...                            re-post a form kept across consent (see Require)
//	GET  /auth/resume.js, /auth/consentry.css           the resume page's script, the built-in pages' style
//
// The scope parameters of signin and adminconsent may name only scopes that
// routes declared (Require, RequireAdmin) or Config.ConnectScopes; others get
// a 400 page, so a link cannot ask users or administrators for permissions
// the app never uses.
//
// Mount it on the directory, e.g. mux.Handle("/auth/", mw.AuthHandler());
// any other path under it answers 404. It matches the paths as browsers send
// them, so it works behind http.StripPrefix, chi's Mount and gorilla/mux
// subrouters alike (see Config.BasePath).
func (m *Middleware) AuthHandler() http.Handler {
	p := m.cfg.authPaths
	mux := http.NewServeMux()
	for _, e := range []struct {
		path    string
		h       http.HandlerFunc
		methods []string
	}{
		{p.callback, m.callback, []string{http.MethodGet, http.MethodPost}},
		{p.signIn, m.signIn, []string{http.MethodGet}},
		{p.signOut, m.signOut, []string{http.MethodPost, http.MethodGet}},
		{p.adminConsent, m.adminConsentStart, []string{http.MethodGet}},
		{p.connect, m.connect, []string{http.MethodGet}},
		{p.resume, m.resumePage, []string{http.MethodGet}},
	} {
		for _, meth := range e.methods {
			mux.HandleFunc(meth+" "+e.path, e.h) // another method: 405 with Allow
		}
	}
	m.handleAssets(mux) // the default look's stylesheet, the resume page's script
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = m.atRequestPath(r)
		if _, pattern := mux.Handler(r); pattern == "" && !p.has(r.URL.Path) {
			m.fail(w, r, fmt.Errorf("%w: no endpoint at %s (sign-in is %s, sign-out %s)", errNotFound, r.URL.Path, p.signIn, p.signOut))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

var errNotFound = fmt.Errorf("%w: not found", ErrInvalidRequest)

// signIn starts a flow for the scopes in the query (space-separated, optional)
// that returns to the redirect parameter.
func (m *Middleware) signIn(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ret := q.Get("redirect")
	if ret == "" {
		ret = m.cfg.BasePath
	}
	if !returnurl.Valid(ret) {
		m.fail(w, r, fmt.Errorf("%w: the redirect parameter must be a path on this site, such as /mail", ErrInvalidRequest))
		return
	}
	var scopes []string
	if s := strings.Fields(strings.Join(q["scope"], " ")); len(s) > 0 {
		clean, _, err := scope.Route(s)
		if err == nil {
			err = m.declared.check(clean)
		}
		if err != nil {
			m.fail(w, r, fmt.Errorf("%w: scope parameter: %w", ErrInvalidRequest, err))
			return
		}
		scopes = clean
	}
	claims := q.Get("claims")
	if claims != "" && (len(scopes) == 0 || len(claims) > maxClaims || !json.Valid([]byte(claims))) {
		m.fail(w, r, fmt.Errorf("%w: the claims parameter must be a JSON claims request, with scope", ErrInvalidRequest))
		return
	}
	prompt, err := signInPrompt(q)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	m.startFlow(w, r, m.loadSession(r), flowRequest{scopes: scopes, returnURL: ret, claims: claims, prompt: prompt})
}

// SignInURL returns the app-relative URL of AuthHandler's sign-in endpoint that
// asks for scopes (none: just sign in) and then returns to returnURL.
func (m *Middleware) SignInURL(returnURL string, scopes ...string) string {
	v := url.Values{"redirect": {returnURL}}
	if len(scopes) > 0 {
		v.Set("scope", strings.Join(scopes, " "))
	}
	return m.cfg.authPaths.signIn + "?" + v.Encode()
}

// SignOutURL returns the app-relative URL of AuthHandler's sign-out endpoint.
// Post a form to it from the app's pages; a GET (a link) works too. Requests
// from other sites (Sec-Fetch-Site cross-site or same-site, an Origin or
// Referer of another origin than Config.RedirectURL's, or none of these
// headers) do not sign out: they get a page asking the user to confirm
// with a button, so another site cannot sign the user out.
func (m *Middleware) SignOutURL() string { return m.cfg.authPaths.signOut }

// AdminConsentURL returns the app-relative URL of AuthHandler's admin-consent
// endpoint for scopes, returning to returnURL afterwards. Whoever opens it
// signs in at Entra; an administrator approves the scopes for the whole
// organization, anyone else gets a page saying an administrator is needed.
// Its state is bound to the browser that opens it, so the link can be passed
// on (ConsentError.AdminConsentURL is its absolute form).
func (m *Middleware) AdminConsentURL(returnURL string, scopes ...string) string {
	v := url.Values{"redirect": {returnURL}, "scope": {strings.Join(scopes, " ")}}
	return m.cfg.authPaths.adminConsent + "?" + v.Encode()
}

// ConnectURL returns the app-relative URL of AuthHandler's connect endpoint:
// it sends a tenant's administrator through Entra's admin consent for
// Config.ConnectScopes (by default everything the app registration lists for
// Microsoft Graph), records the tenant as onboarded and returns to
// returnURL. tenantID "" lets the admin's own tenant be chosen at sign-in.
func (m *Middleware) ConnectURL(returnURL, tenantID string) string {
	v := url.Values{"redirect": {returnURL}}
	if tenantID != "" {
		v.Set("tenant", tenantID)
	}
	return m.cfg.authPaths.connect + "?" + v.Encode()
}
