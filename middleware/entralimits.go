package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// What a slow, hung or hostile Entra (or anyone between) can cost. Every
// answer the middleware reads from it (token, discovery, JWKS; through
// Config.HTTPClient) is cut at maxEntraResponse bytes. Every MSAL call holds
// its pooled client for at most one attemptTimeout; and code
// redemptions, which wait on Entra and are not retried, hold at most half of
// the pool at once, so requests whose tokens MSAL has cached keep getting
// clients while Entra hangs.

// maxEntraResponse bounds an answer from Entra: 1 MiB, far above a token
// answer with a large ID token.
const maxEntraResponse = 1 << 20

// errEntraResponseTooLarge: an answer from Entra longer than maxEntraResponse.
var errEntraResponseTooLarge = errors.New("middleware: Entra's answer is larger than 1 MiB: refused")

// limitClient returns a copy of c whose answers' bodies are cut at max.
func limitClient(c *http.Client, max int64) *http.Client {
	limited := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	limited.Transport = &limitedTransport{base: base, max: max}
	return &limited
}

// limitedTransport is an http.RoundTripper whose answers' bodies end with
// errEntraResponseTooLarge past max bytes.
type limitedTransport struct {
	base http.RoundTripper
	max  int64
}

func (t *limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%w (%s announced %d bytes)", errEntraResponseTooLarge, r.URL.Host, resp.ContentLength)
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: t.max}
	return resp, nil
}

// CloseIdleConnections closes the idle connections of the base transport
// (http.Client.CloseIdleConnections reaches it only through this method).
func (t *limitedTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// limitedBody reads at most left bytes of a body, then fails if more follow.
type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		n, err := b.ReadCloser.Read(one[:])
		if n > 0 {
			return 0, errEntraResponseTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// withShare is withTimeout for calls that wait on Entra without retry (code
// redemptions): at most half of the pool's clients run them at once.
func (p *clientPool) withShare(ctx context.Context, timeout time.Duration, fn func(context.Context, confidential.Client) error) error {
	p.waiting.Add(1)
	select {
	case p.share <- struct{}{}:
		p.waiting.Add(-1)
		defer func() { <-p.share }()
	case <-ctx.Done():
		p.waiting.Add(-1)
		return ctx.Err()
	}
	return p.withTimeout(ctx, timeout, fn)
}
