package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/consentry/consentry/middleware/internal/entraerr"
	"github.com/consentry/consentry/middleware/internal/flowstore"
	"github.com/consentry/consentry/middleware/internal/protocol"
	"github.com/consentry/consentry/middleware/internal/returnurl"
	"github.com/consentry/consentry/middleware/internal/scope"
)

// callback finishes a flow: state, error or code, nonce, session, resume.
func (m *Middleware) callback(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		m.fail(w, r, fmt.Errorf("%w: unreadable callback parameters: %w", ErrInvalidRequest, err))
		return
	}
	sess := m.loadSession(r)
	f, ferr := m.takeFlow(w, r, sess, r.Form.Get("state"))
	if e := entraerr.FromQuery(r.Form); e != nil {
		m.callbackError(w, r, sess, f, e)
		return
	}
	if ferr != nil {
		m.fail(w, r, ferr)
		return
	}
	if f.Kind != "" {
		m.adminCallback(w, r, sess, f)
		return
	}
	code := r.Form.Get("code")
	if code == "" {
		m.fail(w, r, fmt.Errorf("%w: the callback carries neither code nor error", ErrInvalidRequest))
		return
	}
	acct, ar, err := m.redeem(r, f, code)
	if err != nil {
		if countsAsFailure(err) {
			m.countFailure(r.Context(), f)
		}
		m.fail(w, r, err)
		return
	}
	if err := m.tenantGate(r.Context(), acct.TenantID, f); err != nil {
		m.refuse(w, r, sess, acct, err)
		return
	}
	if err := m.onSignIn(r.Context(), acct); err != nil {
		m.refuse(w, r, sess, acct, err)
		return
	}
	acct = acct.forSession()
	m.finishSignIn(w, r, sess, f, acct, ar)
}

// takeFlow checks state against the browser session and the flow store, and
// consumes the flow. All failures wrap ErrInvalidState except store faults.
// A state missing from the session's pending list is accepted when its flow
// is bound to the session's binding id (concurrent tabs or scripts each
// saved the cookie with their own flow, and the last one won), or when the
// browser holds the flow's own cookie (flow cookies: concurrent first flows of a
// new browser, and flows started before a first sign-in renewed the binding).
// The binding is checked before the flow is claimed: a callback from another
// browser that knows the state leaves the flow to the browser that started it.
func (m *Middleware) takeFlow(w http.ResponseWriter, r *http.Request, sess *session, state string) (*flowstore.Flow, error) {
	if state == "" {
		return nil, fmt.Errorf("%w: the callback carries no state", ErrInvalidState)
	}
	id := flowstore.ID(state)
	proof := m.flowCookieValue(r, id)
	if !sess.hasPending(id) && sess.sid == "" && proof == "" {
		return nil, fmt.Errorf("%w: state %s was not started in this browser session (forged, used, or from another browser)", ErrInvalidState, id)
	}
	f, err := m.flows.TakeIf(r.Context(), state, func(f *flowstore.Flow) bool {
		return f.SID == sess.sid || flowCookieProves(proof, f)
	})
	switch {
	case errors.Is(err, flowstore.ErrRefused):
		err = fmt.Errorf("%w: state %s belongs to another session", ErrInvalidState, id)
	case errors.Is(err, flowstore.ErrNotFound), errors.Is(err, flowstore.ErrExpired):
		err = fmt.Errorf("%w: state %s: %w", ErrInvalidState, id, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err) // the flow and its proofs stay for a retry
	}
	sess.removePending(id)
	if proof != "" {
		m.expireFlowCookie(w, id) // it serves one callback
	}
	return f, err
}

// callbackError ends a flow Entra answered with an error on a page (no loop).
func (m *Middleware) callbackError(w http.ResponseWriter, r *http.Request, sess *session, f *flowstore.Flow, e *entraerr.Error) {
	var scopes []string
	retry := ""
	if f != nil {
		scopes, retry = f.Scopes, m.SignInURL(f.ReturnURL, f.Scopes...)
		if f.Kind != "" {
			retry = m.adminRetryURL(f)
		}
	} else {
		// Without a valid state anyone could have crafted this URL: do not
		// show its free text to the user (the log keeps it).
		m.log.WarnContext(r.Context(), "middleware: error callback without a valid state",
			"error", e.Code, "aadsts", e.AADSTS(), "description", e.Summary())
		if n := e.AADSTS(); n != 0 && len(e.Codes) == 0 {
			e.Codes = []int{n}
		}
		e.Description = ""
	}
	if err := sess.save(w, r); err != nil {
		m.log.WarnContext(r.Context(), "middleware: save session", "err", err)
	}
	ce := newConsentError(e, scopes, retry, nil)
	if f != nil {
		m.adminHelp(r, sess, ce, f)
		if countsAsFailure(ce) {
			m.countFailure(r.Context(), f)
		}
	}
	m.fail(w, r, ce)
}

// redeem exchanges the code (with the PKCE verifier) and checks the nonce.
func (m *Middleware) redeem(r *http.Request, f *flowstore.Flow, code string) (Account, confidential.AuthResult, error) {
	ctx := r.Context()
	scopes := f.Scopes
	if len(scopes) == 0 { // plain sign-in; MSAL refuses an empty scope list
		scopes = scope.OIDC
	}
	opts := []confidential.AcquireByAuthCodeOption{confidential.WithChallenge(f.Verifier)}
	if f.Claims != "" {
		opts = append(opts, confidential.WithClaims(f.Claims))
	}
	var ar confidential.AuthResult
	err := m.clients.withShare(ctx, attemptTimeout, func(ctx context.Context, c confidential.Client) (err error) {
		ar, err = c.AcquireTokenByAuthCode(ctx, code, m.cfg.RedirectURL, scopes, opts...)
		return err
	})
	if err != nil {
		return Account{}, ar, m.redeemError(f, err)
	}
	if err := m.verifyIDToken(ctx, ar.IDToken.RawToken, f.Nonce, ar.Account.HomeAccountID); err != nil {
		return Account{}, ar, err
	}
	acct := Account{
		HomeAccountID: ar.Account.HomeAccountID, Username: ar.Account.PreferredUsername,
		TenantID: ar.IDToken.TenantID, Name: ar.IDToken.Name,
	}
	if acct.Username == "" {
		acct.Username = ar.IDToken.PreferredUsername
	}
	if acct.TenantID == "" {
		acct.TenantID = ar.Account.Realm
	}
	if acct.HomeAccountID == "" {
		return Account{}, ar, fmt.Errorf("%w: the token response has no client_info (home account id)", ErrSignInFailed)
	}
	acct, err = withIDClaims(acct, ar.IDToken.RawToken)
	return acct, ar, err
}

func (m *Middleware) redeemError(f *flowstore.Flow, err error) error {
	kind, e := entraerr.Classify(err)
	retry := m.SignInURL(f.ReturnURL, f.Scopes...)
	switch {
	case e != nil && e.Status >= 400 && e.Status < 500 && e.Status != 429:
		return newConsentError(e, f.Scopes, retry, err) // e.g. invalid_grant: code used or expired
	case e == nil && kind == entraerr.NeedsUser: // MSAL: the token lacks a requested scope
		return &ConsentError{Scopes: f.Scopes, URL: retry, kind: ErrConsentDeclined, cause: err}
	}
	return fmt.Errorf("%w: redeem the authorization code: %w", ErrUnavailable, err)
}

// finishSignIn stores the account in the session, remembers the token and
// resumes the original request.
func (m *Middleware) finishSignIn(w http.ResponseWriter, r *http.Request, sess *session, f *flowstore.Flow, acct Account, ar confidential.AuthResult) {
	sess.signIn(acct)
	sess.admin = sess.admin || protocol.IsAdmin(ar.IDToken.RawToken)
	if f.Resume != "" && f.SID != sess.sid { // a first sign-in rebinds the session
		if err := m.rebindKept(r.Context(), f.Resume, sess.sid); err != nil {
			m.log.WarnContext(r.Context(), "middleware: keep the form across sign-in", "err", err)
		}
	}
	if err := sess.save(w, r); err != nil {
		m.fail(w, r, fmt.Errorf("middleware: save session: %w", err))
		return
	}
	// A sign-in link may combine declared scopes at will: a set that no route
	// or Token call uses gets no id, so the route table stays as large as the
	// app's code makes it, and no request would read its token anyway.
	if id, ok := m.routes.known(scope.Key(f.Scopes)); ok && len(f.Scopes) > 0 {
		m.remember(acct, f.Scopes, id, ar)
	}
	m.flowSucceeded(r.Context(), f)
	m.log.InfoContext(r.Context(), "middleware: signed in", "account", acct.HomeAccountID,
		"scopes", logScopes(f.Scopes), "flow", flowstore.ID(f.State))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", returnurl.Or(f.ReturnURL, "/"))
	w.WriteHeader(http.StatusSeeOther)
}
