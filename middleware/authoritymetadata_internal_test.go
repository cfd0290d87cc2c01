package middleware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// metadataOrigin answers every request with status and body, by default a
// document naming the URL and the endpoints MSAL requires, counting the
// requests that reach it.
type metadataOrigin struct {
	calls     atomic.Int32
	status    int
	body      string
	gate      chan struct{} // when set, answers wait until it is closed
	failFirst bool          // the first request fails without an answer
}

func (o *metadataOrigin) RoundTrip(r *http.Request) (*http.Response, error) {
	n := o.calls.Add(1)
	if o.gate != nil {
		<-o.gate
	}
	if o.failFirst && n == 1 {
		return nil, errors.New("connection reset")
	}
	body := o.body
	if body == "" {
		body = `{"url":"` + r.URL.String() + `","authorization_endpoint":"https://login.example/a","token_endpoint":"https://login.example/t",` +
			`"issuer":"https://login.example/i","tenant_discovery_endpoint":"https://login.example/d"}`
	}
	return &http.Response{StatusCode: o.status, Header: http.Header{"Content-Type": {"application/json"}}, Request: r,
		Body: io.NopCloser(strings.NewReader(body))}, nil
}

const openIDConfig = "https://login.example/contoso/v2.0/.well-known/openid-configuration?"

// metadataClient is shareAuthorityMetadata over origin, on clock now.
func metadataClient(origin *metadataOrigin, now func() time.Time) *http.Client {
	return shareAuthorityMetadata(&http.Client{Transport: origin}, now)
}

// getMetadata sends GET u through c and returns the answer's status and body.
func getMetadata(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestAuthorityMetadataFetchedOnce: concurrent and later GETs of one metadata
// document reach Entra once and each get the whole answer.
func TestAuthorityMetadataFetchedOnce(t *testing.T) {
	for _, u := range []string{openIDConfig,
		"https://login.example/common/discovery/instance?api-version=1.1&authorization_endpoint=https%3A%2F%2Flogin.example%2Fcontoso%2Foauth2%2Fv2.0%2Fauthorize"} {
		origin := &metadataOrigin{status: http.StatusOK, gate: make(chan struct{})}
		c := metadataClient(origin, time.Now)
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if code, body := getMetadata(t, c, u); code != http.StatusOK || !strings.Contains(body, u) {
					t.Errorf("%s: %d %q", u, code, body)
				}
			})
		}
		close(origin.gate)
		wg.Wait()
		getMetadata(t, c, u)
		if n := origin.calls.Load(); n != 1 {
			t.Errorf("%s: %d requests reached Entra, want 1", u, n)
		}
	}
}

// TestAuthorityMetadataOnlyThoseGets: token requests, other GETs (keys) and
// answers other than 200 always reach Entra.
func TestAuthorityMetadataOnlyThoseGets(t *testing.T) {
	for _, tc := range []struct {
		name, method, url string
		status            int
	}{
		{"token", "POST", "https://login.example/contoso/oauth2/v2.0/token", 200},
		{"keys", "GET", "https://login.example/contoso/discovery/v2.0/keys", 200},
		{"error", "GET", openIDConfig, 400},
		{"unavailable", "GET", openIDConfig, 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			origin := &metadataOrigin{status: tc.status}
			c := metadataClient(origin, time.Now)
			for range 3 {
				r, _ := http.NewRequest(tc.method, tc.url, strings.NewReader(""))
				if tc.method == "GET" {
					r.Body = nil
				}
				resp, err := c.Do(r)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != tc.status {
					t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
				}
			}
			if n := origin.calls.Load(); n != 3 {
				t.Errorf("%d requests reached Entra, want 3", n)
			}
		})
	}
}

// TestAuthorityMetadataExpires: a document is fetched again metadataTTL after
// it was fetched, on Config.Now's clock.
func TestAuthorityMetadataExpires(t *testing.T) {
	origin := &metadataOrigin{status: http.StatusOK}
	now := time.Now()
	c := metadataClient(origin, func() time.Time { return now })
	getMetadata(t, c, openIDConfig)
	now = now.Add(metadataTTL - time.Second)
	getMetadata(t, c, openIDConfig)
	if n := origin.calls.Load(); n != 1 {
		t.Fatalf("%d requests before expiry, want 1", n)
	}
	now = now.Add(time.Second)
	getMetadata(t, c, openIDConfig)
	getMetadata(t, c, openIDConfig)
	if n := origin.calls.Load(); n != 2 {
		t.Errorf("%d requests after expiry, want 2", n)
	}
}

// TestAuthorityMetadataBounded: past maxMetadataDocs documents (e.g. one per
// tenant an app asks app tokens of), requests reach Entra as MSAL makes them.
func TestAuthorityMetadataBounded(t *testing.T) {
	origin := &metadataOrigin{status: http.StatusOK}
	c := metadataClient(origin, time.Now)
	doc := func(i int) string {
		return fmt.Sprintf("https://login.example/tenant%d/v2.0/.well-known/openid-configuration?", i)
	}
	for i := range maxMetadataDocs + 1 {
		if _, body := getMetadata(t, c, doc(i)); !strings.Contains(body, doc(i)) {
			t.Fatalf("document %d: %q", i, body)
		}
	}
	getMetadata(t, c, doc(0))
	getMetadata(t, c, doc(maxMetadataDocs))
	if n := int(origin.calls.Load()); n != maxMetadataDocs+2 {
		t.Errorf("%d requests reached Entra, want %d (the first %d kept)", n, maxMetadataDocs+2, maxMetadataDocs)
	}
	if n := len(c.Transport.(*authorityMetadata).docs); n > maxMetadataDocs {
		t.Errorf("%d documents kept, want at most %d", n, maxMetadataDocs)
	}
}

// TestAuthorityMetadataCutAnswerNotKept: an answer cut at maxEntraResponse
// fails its request and is fetched again by the next.
func TestAuthorityMetadataCutAnswerNotKept(t *testing.T) {
	origin := &metadataOrigin{status: http.StatusOK}
	c := shareAuthorityMetadata(limitClient(&http.Client{Transport: origin}, 8), time.Now)
	for range 2 {
		resp, err := c.Get(openIDConfig)
		if !errors.Is(err, errEntraResponseTooLarge) {
			if err == nil {
				resp.Body.Close()
			}
			t.Fatalf("err %v, want errEntraResponseTooLarge", err)
		}
	}
	if n := origin.calls.Load(); n != 2 {
		t.Errorf("%d requests reached Entra, want 2", n)
	}
}

// TestAuthorityMetadataUnusableAnswerNotKept: a 200 answer MSAL cannot
// resolve the authority with (a proxy's page, an empty or cut document) is
// passed on whole and fetched again by the next request, not served to every
// client for metadataTTL.
func TestAuthorityMetadataUnusableAnswerNotKept(t *testing.T) {
	discovery := "https://login.example/common/discovery/instance?api-version=1.1&authorization_endpoint=x"
	for _, tc := range []struct{ name, url, body string }{
		{"page", openIDConfig, "<html>Sign in to the proxy</html>"},
		{"empty", openIDConfig, "{}"},
		{"no issuer", openIDConfig, `{"authorization_endpoint":"https://a","token_endpoint":"https://t"}`},
		{"discovery without endpoint", discovery, `{"tenant_discovery_endpoint":"","metadata":[]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			origin := &metadataOrigin{status: http.StatusOK, body: tc.body}
			c := metadataClient(origin, time.Now)
			for range 2 {
				if code, body := getMetadata(t, c, tc.url); code != http.StatusOK || body != tc.body {
					t.Errorf("%d %q, want 200 %q", code, body, tc.body)
				}
			}
			if n := origin.calls.Load(); n != 2 {
				t.Errorf("%d requests reached Entra, want 2", n)
			}
		})
	}
}

// TestAuthorityMetadataKeyedByURL: documents of other clouds, tenants or
// authorization endpoints (instance discovery's query) are each fetched and
// answered on their own: no authority gets another's.
func TestAuthorityMetadataKeyedByURL(t *testing.T) {
	discovery := "https://login.example/common/discovery/instance?api-version=1.1&authorization_endpoint="
	urls := []string{
		openIDConfig,
		"https://login.example/fabrikam/v2.0/.well-known/openid-configuration?",
		"https://login.example.cn/contoso/v2.0/.well-known/openid-configuration?",
		"http://login.example/contoso/v2.0/.well-known/openid-configuration?",
		"https://login.example/contoso/v2.0/.well-known/openid-configuration?appid=x",
		discovery + "https%3A%2F%2Flogin.example%2Fcontoso%2Foauth2%2Fv2.0%2Fauthorize",
		discovery + "https%3A%2F%2Flogin.example%2Ffabrikam%2Foauth2%2Fv2.0%2Fauthorize",
		"https://login.example.cn/common/discovery/instance?api-version=1.1&authorization_endpoint=" +
			"https%3A%2F%2Flogin.example%2Fcontoso%2Foauth2%2Fv2.0%2Fauthorize",
	}
	origin := &metadataOrigin{status: http.StatusOK}
	c := metadataClient(origin, time.Now)
	for range 2 {
		for _, u := range urls {
			if _, body := getMetadata(t, c, u); !strings.Contains(body, `"url":"`+u+`"`) {
				t.Errorf("GET %s answered %q", u, body)
			}
		}
	}
	if n := int(origin.calls.Load()); n != len(urls) {
		t.Errorf("%d requests reached Entra, want %d (one per document)", n, len(urls))
	}
}

// TestAuthorityMetadataWaitersNotStuck: a request waiting for another's fetch
// returns when its own context ends, and when that fetch fails the waiters
// each get the document anyway.
func TestAuthorityMetadataWaitersNotStuck(t *testing.T) {
	origin := &metadataOrigin{status: http.StatusOK, gate: make(chan struct{}), failFirst: true}
	c := metadataClient(origin, time.Now)
	leader := make(chan error, 1)
	go func() {
		resp, err := c.Get(openIDConfig)
		if err == nil {
			resp.Body.Close()
		}
		leader <- err
	}()
	for origin.calls.Load() == 0 { // the first request is at Entra
		runtime.Gosched()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, _ := http.NewRequestWithContext(ctx, "GET", openIDConfig, nil)
	if resp, err := c.Do(r); !errors.Is(err, context.Canceled) {
		if err == nil {
			resp.Body.Close()
		}
		t.Errorf("a cancelled waiter got %v, want context.Canceled", err)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if code, body := getMetadata(t, c, openIDConfig); code != http.StatusOK || !strings.Contains(body, "token_endpoint") {
				t.Errorf("waiter: %d %q", code, body)
			}
		})
	}
	close(origin.gate)
	wg.Wait()
	if err := <-leader; err == nil {
		t.Error("the failed fetch answered, want its error")
	}
}

// TestAuthorityMetadataAnswersOwnCopy: each client's answer has a header and
// body of its own: one reading, closing or changing its answer leaves the
// next answer whole.
func TestAuthorityMetadataAnswersOwnCopy(t *testing.T) {
	origin := &metadataOrigin{status: http.StatusOK}
	c := metadataClient(origin, time.Now)
	_, want := getMetadata(t, c, openIDConfig)
	resp, err := c.Get(openIDConfig)
	if err != nil {
		t.Fatal(err)
	}
	resp.Header.Set("Content-Type", "text/plain")
	io.ReadFull(resp.Body, make([]byte, 5))
	resp.Body.Close()
	resp, err = c.Get(openIDConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != want || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("answer %q %v with Content-Type %q, want %q as application/json", b, err, resp.Header.Get("Content-Type"), want)
	}
	if n := origin.calls.Load(); n != 1 {
		t.Errorf("%d requests reached Entra, want 1", n)
	}
}

// TestAuthorityMetadataClosesIdleConnections: CloseIdleConnections on the
// pool's client reaches the transport of Config.HTTPClient under both
// wrappers.
func TestAuthorityMetadataClosesIdleConnections(t *testing.T) {
	base := &idleCounter{}
	shareAuthorityMetadata(limitClient(&http.Client{Transport: base}, maxEntraResponse), time.Now).CloseIdleConnections()
	if base.closed != 1 {
		t.Fatalf("the transport's idle connections were closed %d times, want 1", base.closed)
	}
}
