package middleware

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/consentry/consentry/middleware/internal/flowstore"
	"github.com/consentry/consentry/middleware/internal/protocol"
	"github.com/consentry/consentry/middleware/internal/scope"
)

// flowRequest is what a new round trip to Entra asks for.
type flowRequest struct {
	scopes    []string // the route's scopes; OpenID Connect scopes are added
	returnURL string   // validated same-origin path to resume
	claims    string   // claims challenge to carry, optional
	kind      string   // "" authorize, flowstore.KindAdminConsent or KindConnect
	tenant    string   // admin consent: the tenant to ask ("" = the user's or the authority's)
	keep      *keptRequest
	admin     bool   // the route declared its scopes admin-only
	prompt    string // "select_account": no login_hint, Entra's account picker
}

// startFlow records a pending flow (server side, bound to the browser session)
// and redirects the browser to Entra's authorize or admin-consent endpoint.
// The loop guard runs first; a kept request is stored with the flow.
func (m *Middleware) startFlow(w http.ResponseWriter, r *http.Request, sess *session, fr flowRequest) {
	r = r.WithContext(flowWriterContext(r.Context(), sess.account.HomeAccountID))
	ctx := r.Context()
	n, err := m.checkAttempts(ctx, sess.bindingID(), fr)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	f := &flowstore.Flow{
		State: protocol.Random(32), Nonce: protocol.Random(32), Verifier: protocol.NewVerifier(),
		Scopes: fr.scopes, ReturnURL: fr.returnURL, Created: m.cfg.Now(), SID: sess.bindingID(),
		Attempt: n, Claims: fr.claims, LoginHint: sess.account.Username, Kind: fr.kind, Tenant: fr.tenant,
		Admin: fr.admin,
	}
	if fr.prompt != "" {
		f.Prompt, f.LoginHint = fr.prompt, ""
	}
	if fr.keep != nil {
		if f.Resume, err = m.keep(ctx, fr.keep, f.SID); err != nil {
			m.fail(w, r, err)
			return
		}
		f.ReturnURL = m.resumeURL(f.Resume)
	}
	target, err := m.flowURL(ctx, f, sess)
	if err != nil {
		m.fail(w, r, fmt.Errorf("%w: build the URL to Entra: %w", ErrUnavailable, err))
		return
	}
	m.redirectFlow(w, r, sess, f, target)
}

// redirectFlow stores f, remembers it in the session and redirects to target.
func (m *Middleware) redirectFlow(w http.ResponseWriter, r *http.Request, sess *session, f *flowstore.Flow, target string) {
	ctx := r.Context()
	if err := m.flows.Put(ctx, f); err != nil {
		m.fail(w, r, fmt.Errorf("%w: %w", ErrUnavailable, err))
		return
	}
	m.dropPending(ctx, sess.addPending(pendingEntry(f)))
	if sess.account.HomeAccountID == "" {
		m.setFlowCookie(w, f)
	}
	if err := sess.save(w, r); err != nil {
		m.fail(w, r, fmt.Errorf("middleware: save session: %w", err))
		return
	}
	m.log.DebugContext(ctx, "middleware: redirect to Entra", "path", r.URL.Path, "kind", f.Kind,
		"scopes", logScopes(f.Scopes), "flow", flowstore.ID(f.State), "attempt", f.Attempt,
		"signed_in", sess.account.HomeAccountID != "", "claims", f.Claims != "", "resume", f.Resume != "")
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}

// dropPending deletes the flows (and kept requests) pushed out of a session's
// pending list: a session holds at most maxPending of each in the store.
func (m *Middleware) dropPending(ctx context.Context, dropped []string) {
	for _, entry := range dropped {
		id, resume, _ := strings.Cut(entry, ".")
		err := m.flows.Drop(ctx, id)
		if resume != "" && err == nil {
			err = m.resumes.Delete(ctx, resume)
		}
		if err != nil {
			m.log.WarnContext(ctx, "middleware: drop a flow pushed out of the session", "flow", id, "err", err)
		}
	}
}

// Flow cookies. A session without a signed-in account gets, with each flow
// it starts, a second cookie of its own, scoped to the callback path and
// named after the flow, holding flowProof of the flow's binding id. It proves
// at the callback that this browser started the flow when the session cookie
// can no longer say so: two tabs of a brand-new browser that start flows at
// the same moment get two binding ids and the second Set-Cookie of the
// session overwrites the first; and a first sign-in gives the session a new
// binding id (no fixation), which flows already started in other tabs lack.
// Like the session cookie, it is set only by the app's answer to the browser
// that started the flow, so another site cannot plant one for its own flow
// (login CSRF) nor use the victim's (it never sees the state).
//
// Deriving a binding shared by the tabs instead (from the time the flows and
// the cookie were created, the client's address or User-Agent) would let an
// attacker time a flow of their own into a victim's fresh session: it is not
// done.

// flowCookieName is the name of the flow cookie of the flow whose id is id.
func (m *Middleware) flowCookieName(id string) string { return m.cfg.flowCookieBase + "_f_" + id }

// flowProof is the value of f's flow cookie: a hash of its binding id and
// state, so the cookie reveals neither and fits no other flow.
func flowProof(sid, state string) string {
	sum := sha256.Sum256([]byte("consentry flow cookie\x00" + sid + "\x00" + state))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// setFlowCookie sets f's flow cookie on w, for FlowTTL.
func (m *Middleware) setFlowCookie(w http.ResponseWriter, f *flowstore.Flow) {
	http.SetCookie(w, m.flowCookie(flowstore.ID(f.State), flowProof(f.SID, f.State), int(FlowTTL.Seconds())))
}

func (m *Middleware) flowCookie(id, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: m.flowCookieName(id), Value: value, Path: m.flowCookiePath(), MaxAge: maxAge,
		HttpOnly: true, Secure: m.cfg.redirect.Scheme == "https", SameSite: http.SameSiteLaxMode,
	}
}

// flowCookieValue returns the value of r's flow cookie for the flow id ("" if none).
func (m *Middleware) flowCookieValue(r *http.Request, id string) string {
	c, err := r.Cookie(m.flowCookieName(id))
	if err != nil {
		return ""
	}
	return c.Value
}

// expireFlowCookie expires the flow cookie of the flow id on w.
func (m *Middleware) expireFlowCookie(w http.ResponseWriter, id string) {
	http.SetCookie(w, m.flowCookie(id, "", -1))
}

// flowCookieProves reports whether proof, a flow cookie's value, was set by
// the answer that started f.
func flowCookieProves(proof string, f *flowstore.Flow) bool {
	return proof != "" && subtle.ConstantTimeCompare([]byte(proof), []byte(flowProof(f.SID, f.State))) == 1
}

// flowURL is the authorize or admin-consent URL of f.
func (m *Middleware) flowURL(ctx context.Context, f *flowstore.Flow, sess *session) (string, error) {
	if f.Kind == "" {
		return m.authorizeURL(ctx, f)
	}
	tenant := f.Tenant
	if tenant == "" && f.Kind == flowstore.KindAdminConsent {
		tenant = sess.account.TenantID
	}
	return m.adminConsentEndpoint(ctx, tenant, f)
}

// authorizeURL builds the authorize request of f: MSAL's AuthCodeURL with
// the scopes and hints, plus the parameters MSAL cannot set.
func (m *Middleware) authorizeURL(ctx context.Context, f *flowstore.Flow) (string, error) {
	scopes := append(slices.Clone(f.Scopes), scope.OIDC...)
	var opts []confidential.AuthCodeURLOption
	if f.LoginHint != "" {
		opts = append(opts, confidential.WithLoginHint(f.LoginHint))
		if _, domain, ok := strings.Cut(f.LoginHint, "@"); ok && domain != "" {
			opts = append(opts, confidential.WithDomainHint(domain))
		}
	}
	if f.Claims != "" {
		opts = append(opts, confidential.WithClaims(f.Claims))
	}
	var raw string
	err := m.clients.with(ctx, func(c confidential.Client) (err error) {
		raw, err = c.AuthCodeURL(ctx, m.cfg.ClientID, m.cfg.RedirectURL, scopes, opts...)
		return err
	})
	if err != nil {
		return "", err
	}
	return protocol.AppendAuthorizeParams(raw, protocol.AuthorizeParams{State: f.State, Nonce: f.Nonce, Verifier: f.Verifier, Prompt: f.Prompt})
}

// adminConsentEndpoint builds {front-channel authority}/v2.0/adminconsent.
func (m *Middleware) adminConsentEndpoint(ctx context.Context, tenant string, f *flowstore.Flow) (string, error) {
	auth, err := m.frontAuthority(ctx, tenant)
	if err != nil {
		return "", err
	}
	scopes := make([]string, len(f.Scopes))
	for i, s := range f.Scopes {
		scopes[i] = scope.Full(s)
	}
	v := url.Values{"client_id": {m.cfg.ClientID}, "scope": {strings.Join(scopes, " ")},
		"redirect_uri": {m.cfg.RedirectURL}, "state": {f.State}}
	return auth + "/v2.0/adminconsent?" + v.Encode(), nil
}
