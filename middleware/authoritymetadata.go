package middleware

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// authorityMetadata is the http.RoundTripper of the pool's MSAL clients: it
// fetches each of the authority's metadata documents once for all of them.
// A confidential client resolves its authority on its first call (a GET of
// {authority}/v2.0/.well-known/openid-configuration, and of
// /common/discovery/instance unless instance discovery is off) and keeps
// the answer in itself, so without this every client the pool makes (a
// server's first herd makes one per user refreshed at once) asks Entra
// again. Entra's answer is the same for every client; MSAL keeps it for the
// client's lifetime (apps/internal/oauth/resolvers.go,
// apps/internal/base/storage/storage.go), MSAL for Java for the process's
// (https://learn.microsoft.com/en-us/entra/msal/java/advanced/instance-discovery).
// Here it is kept metadataTTL whatever its Cache-Control says (MSAL reads
// none), and concurrent first requests for one document share one fetch.
// Only GETs of those two paths are answered from here, only 200 answers
// MSAL can use kept (resolvesAuthority), at most maxMetadataDocs of them
// (one per authority, tenant and discovery URL); every other request goes
// to base.
type authorityMetadata struct {
	base http.RoundTripper
	now  func() time.Time
	mu   sync.Mutex
	docs map[string]*metadataDoc // by request URL
}

// metadataTTL is how long a metadata answer is reused: 12 hours, the
// default refresh interval of Microsoft.IdentityModel's OpenID configuration
// manager (https://learn.microsoft.com/en-us/dotnet/api/microsoft.identitymodel.protocols.configurationmanager-1.defaultautomaticrefreshinterval).
const metadataTTL = 12 * time.Hour

// maxMetadataDocs bounds the documents kept: an app reads one authority,
// plus one per tenant it asks app tokens of (Middleware.AppToken); past the
// bound, requests go to Entra as MSAL makes them.
const maxMetadataDocs = 64

// metadataDoc is one document: fetched once, read by every client.
type metadataDoc struct {
	ready   chan struct{} // closed when the fetch ended; the fields below are then fixed
	ok      bool          // a 200 answer was read whole
	header  http.Header
	body    []byte
	expires time.Time
}

// shareAuthorityMetadata returns a copy of c whose authority metadata GETs
// are answered by one authorityMetadata.
func shareAuthorityMetadata(c *http.Client, now func() time.Time) *http.Client {
	shared := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	shared.Transport = &authorityMetadata{base: base, now: now, docs: map[string]*metadataDoc{}}
	return &shared
}

// isAuthorityMetadata reports whether r asks for one of the documents MSAL
// resolves an Entra authority with.
func isAuthorityMetadata(r *http.Request) bool {
	return r.Method == http.MethodGet && (r.Body == nil || r.Body == http.NoBody) &&
		(strings.HasSuffix(r.URL.Path, openIDConfigurationPath) || r.URL.Path == instanceDiscoveryPath)
}

// The paths of the two documents, as MSAL asks for them.
const (
	openIDConfigurationPath = "/v2.0/.well-known/openid-configuration"
	instanceDiscoveryPath   = "/common/discovery/instance"
)

// resolvesAuthority reports whether body is a document MSAL can resolve the
// authority with: a JSON object naming the endpoints MSAL requires of it
// (authorization_endpoint, token_endpoint and issuer in an OpenID
// configuration; tenant_discovery_endpoint in instance discovery). MSAL
// keeps none but such a document, so a 200 answer that is not one (a
// proxy's page, a truncated or empty body) is not kept either: kept, it
// would fail every client's first call for metadataTTL.
func resolvesAuthority(path string, body []byte) bool {
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return false
	}
	fields := []string{"tenant_discovery_endpoint"}
	if path != instanceDiscoveryPath {
		fields = []string{"authorization_endpoint", "token_endpoint", "issuer"}
	}
	for _, f := range fields {
		if s, _ := doc[f].(string); s == "" {
			return false
		}
	}
	return true
}

func (t *authorityMetadata) RoundTrip(r *http.Request) (*http.Response, error) {
	if !isAuthorityMetadata(r) {
		return t.base.RoundTrip(r)
	}
	key := r.URL.String()
	d, fetch := t.doc(key)
	switch {
	case d == nil: // no room
		return t.base.RoundTrip(r)
	case fetch:
		return t.fetch(r, key, d)
	}
	select {
	case <-d.ready:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	if !d.ok { // the shared fetch failed: this request tries on its own
		return t.base.RoundTrip(r)
	}
	return d.response(r), nil
}

// doc returns the document of key, and true if the caller must fetch it;
// nil when key is new and the table is full of live documents.
func (t *authorityMetadata) doc(key string) (*metadataDoc, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if d, ok := t.docs[key]; ok && !d.stale(now) {
		return d, false
	}
	delete(t.docs, key)
	if len(t.docs) >= maxMetadataDocs {
		for k, d := range t.docs {
			if d.stale(now) {
				delete(t.docs, k)
			}
		}
		if len(t.docs) >= maxMetadataDocs {
			return nil, false
		}
	}
	d := &metadataDoc{ready: make(chan struct{})}
	t.docs[key] = d
	return d, true
}

// stale reports whether d's fetch ended without an answer to keep, or its
// answer has expired; a fetch in flight is not stale.
func (d *metadataDoc) stale(now time.Time) bool {
	select {
	case <-d.ready:
		return !d.ok || !now.Before(d.expires)
	default:
		return false
	}
}

// fetch asks base for d on behalf of every client and answers r. Anything
// but a 200 answer read whole that resolvesAuthority is passed to r as it
// came and not kept.
func (t *authorityMetadata) fetch(r *http.Request, key string, d *metadataDoc) (*http.Response, error) {
	defer close(d.ready)
	resp, err := t.base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.forget(key, d)
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.forget(key, d)
		return nil, err
	}
	if !resolvesAuthority(r.URL.Path, body) {
		t.forget(key, d)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	d.header, d.body, d.expires, d.ok = resp.Header.Clone(), body, t.now().Add(metadataTTL), true
	return d.response(r), nil
}

// forget drops d if it is still key's document.
func (t *authorityMetadata) forget(key string, d *metadataDoc) {
	t.mu.Lock()
	if t.docs[key] == d {
		delete(t.docs, key)
	}
	t.mu.Unlock()
}

// response is d's answer to r, with a body of its own.
func (d *metadataDoc) response(r *http.Request) *http.Response {
	return &http.Response{Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: d.header.Clone(), Body: io.NopCloser(bytes.NewReader(d.body)), ContentLength: int64(len(d.body)), Request: r}
}

// CloseIdleConnections closes the idle connections of the base transport.
func (t *authorityMetadata) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
