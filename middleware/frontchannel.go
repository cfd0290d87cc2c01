package middleware

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/consentry/consentry/middleware/internal/scope"
)

// frontChannel remembers where the browser-facing endpoints (authorize, admin
// consent, logout) live. They are derived from the authorization endpoint MSAL
// resolves (from the authority's discovery document), never from
// Config.Authority: a cloud or an emulator may serve its front channel on
// another origin than the token endpoint.
type frontChannel struct {
	mu     sync.Mutex
	base   string // scheme://host[/prefix], without the tenant
	tenant string // the tenant segment of Config.Authority as discovery names it
}

const authorizeSuffix = "/oauth2/v2.0/authorize"

// frontAuthority returns the front-channel authority for tenant, e.g.
// https://login.microsoftonline.com/{tenant}; tenant "" is Config.Authority's.
func (m *Middleware) frontAuthority(ctx context.Context, tenant string) (string, error) {
	m.front.mu.Lock()
	base, own := m.front.base, m.front.tenant
	m.front.mu.Unlock()
	if base == "" {
		var err error
		if base, own, err = m.discoverFront(ctx); err != nil {
			return "", err
		}
	}
	if tenant == "" {
		tenant = own
	}
	return base + "/" + url.PathEscape(tenant), nil
}

// discoverFront asks MSAL for an authorize URL and splits it into the
// front-channel base and tenant.
func (m *Middleware) discoverFront(ctx context.Context) (base, tenant string, err error) {
	var raw string
	err = m.clients.with(ctx, func(c confidential.Client) (err error) {
		raw, err = c.AuthCodeURL(ctx, m.cfg.ClientID, m.cfg.RedirectURL, scope.OIDC)
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("middleware: resolve the authorization endpoint: %w", err)
	}
	u, err := url.Parse(raw)
	if err != nil || !strings.HasSuffix(u.Path, authorizeSuffix) {
		return "", "", fmt.Errorf("middleware: unexpected authorization endpoint %q", raw)
	}
	p := strings.TrimSuffix(u.Path, authorizeSuffix)
	base = u.Scheme + "://" + u.Host + strings.TrimSuffix(path.Dir(p), "/")
	tenant = path.Base(p)
	m.front.mu.Lock()
	m.front.base, m.front.tenant = base, tenant
	m.front.mu.Unlock()
	return base, tenant, nil
}

// logoutURL is Entra's end-session endpoint with the post-logout redirect.
// If the endpoint cannot be resolved, Config.Authority's is used.
func (m *Middleware) logoutURL(ctx context.Context) string {
	auth, err := m.frontAuthority(ctx, "")
	if err != nil {
		m.log.WarnContext(ctx, "middleware: logout endpoint from Config.Authority", "err", err)
		auth = m.cfg.Authority
	}
	return auth + "/oauth2/v2.0/logout?" + url.Values{"post_logout_redirect_uri": {m.cfg.PostLogoutRedirectURL}}.Encode()
}
