package middleware

import (
	"context"
	"errors"
	"time"

	"github.com/consentry/consentry/middleware/internal/entraerr"
	"github.com/consentry/consentry/tokencache"
)

// The cold path: a user's first request on a replica, or after the in-process
// entry expired. Before MSAL loads and deserializes the user's whole cache
// partition, tokencache reads the one access token the route needs with one
// store round trip. It answers only when it is certain MSAL's silent
// acquisition would return that token; anything else (a refresh due, a shape
// it does not know, another cloud's host alias) falls back to MSAL.
//
// The read runs in the request's goroutine, before and outside the one MSAL
// call per user and scope set (require.go): reads are idempotent, so
// concurrent first requests of one user each read rather than hand the read
// to a shared goroutine and wait for it.

// coldToken is cachedToken bounded like a silent acquisition: by deadline
// (the silent acquisition's, shared with the MSAL call that may follow) and
// by Close; ok=false without a readable authority.
func (m *Middleware) coldToken(ctx context.Context, deadline time.Time, acct Account, rt *route) (*authInfo, bool, error) {
	if m.authority == nil {
		return nil, false, nil
	}
	ctx, done, err := m.life.enterUntil(ctx, deadline) // Close cancels and waits
	if err != nil {
		return nil, false, &silentError{kind: entraerr.Unavailable, err: err}
	}
	defer done()
	return m.cachedToken(ctx, acct, rt)
}

// fresh reports whether ai is outside its refresh window, as the in-process
// cache serves it.
func (m *Middleware) fresh(ai *authInfo) bool {
	return ai.tok.ExpiresOn.After(m.cfg.Now().Add(RefreshMargin))
}

// cachedToken returns the route's access token read straight from the shared
// cache, with ok=false when MSAL must be asked. A store outage is returned as
// the silent acquisition's error: MSAL's own read would fail the same way.
func (m *Middleware) cachedToken(ctx context.Context, acct Account, rt *route) (*authInfo, bool, error) {
	t, ok, err := m.cache.AccessToken(ctx, tokencache.TokenQuery{Authority: *m.authority, ClientID: m.cfg.ClientID,
		HomeAccountID: acct.HomeAccountID, Scopes: rt.scopes})
	if errors.Is(err, tokencache.ErrUnavailable) {
		kind, e := entraerr.Classify(err)
		return nil, false, &silentError{kind: kind, entra: e, err: err}
	}
	if err != nil || !ok {
		return nil, false, nil
	}
	tok := Token{AccessToken: t.AccessToken, ExpiresOn: t.ExpiresOn, Scopes: rt.scopes}
	return m.keepToken(acct, tok, rt.id, true), true, nil // AccessToken's token is a string of its own
}

// cacheAuthority is Config.Authority as MSAL keys its tokens, or nil when
// tokencache cannot read it (then every cold request asks MSAL).
func cacheAuthority(authority string) *tokencache.Authority {
	a, err := tokencache.ParseAuthority(authority)
	if err != nil {
		return nil
	}
	return &a
}
