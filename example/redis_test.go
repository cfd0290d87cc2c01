package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentry/consentry/tokencache/redisstore/redistest"
)

// TestRedisTokenCache runs the example with REDIS_URL and CONSENTRY_CACHE_KEY, signs
// a user in over plain HTTP, and checks that the user's tokens are in Redis, encrypted.
func TestRedisTokenCache(t *testing.T) {
	redisURL := redistest.URL(t) // skips, saying why, without Redis
	key := make([]byte, 32)
	rand.Read(key)
	a := startExampleEnv(t, []string{"REDIS_URL=" + redisURL, "CONSENTRY_CACHE_KEY=" + base64.StdEncoding.EncodeToString(key)})
	if !strings.Contains(a.output(), "Tokens     in Redis") {
		t.Errorf("banner does not say tokens are in Redis:\n%s", a.output())
	}

	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	const megan = "a1d3e4f5-0003-4c00-8000-00000000c0a3"
	partition := "tokencache:" + megan + "." + contosoID
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdb.Del(ctx, partition)
	t.Cleanup(func() { rdb.Del(context.Background(), partition) })

	page := signInOverHTTP(t, ctx, a, "/profile", "megan@contoso.example")
	if !strings.Contains(page, "Megan Bowen") || !strings.Contains(page, `id="page-profile"`) {
		t.Fatalf("after sign-in, /profile is not Megan's profile:\n%s", page)
	}
	blob, err := rdb.Get(ctx, partition).Bytes()
	if err != nil {
		t.Fatalf("Megan's tokens are not in Redis at %s: %v", partition, err)
	}
	for _, plain := range []string{"access_token", "refresh_token", "AccessToken", "RefreshToken", "secret", megan} {
		if bytes.Contains(blob, []byte(plain)) {
			t.Errorf("the Redis value holds %q in plain text: tokens are not encrypted at rest", plain)
		}
	}
}

var flowField = regexp.MustCompile(`name="flow" value="([^"]+)"`)

// signInOverHTTP opens path of the app as a browser without JavaScript would, signs
// in on the emulator's page as upn, accepts the consent page, and returns the app's page.
func signInOverHTTP(t *testing.T, ctx context.Context, a *app, path, upn string) string {
	t.Helper()
	return signInWith(t, ctx, loopbackClient(), a.URL+path, upn)
}

// loopbackClient is a client with a cookie jar for the loopback app and
// emulator a test started. The emulator's certificate is self-signed and made
// at start; this client talks only to them.
func loopbackClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

// signInWith is signInOverHTTP with the client c, opening target.
func signInWith(t *testing.T, ctx context.Context, c *http.Client, target, upn string) string {
	t.Helper()
	path := target
	body, at := fetch(t, ctx, c, http.MethodGet, target, nil)
	if !strings.Contains(body, `data-kind="signin"`) {
		t.Fatalf("GET %s did not reach the emulator's sign-in page:\n%s", path, body)
	}
	body, at = fetch(t, ctx, c, http.MethodPost, at.JoinPath("/_entratest/signin").String(), url.Values{"flow": {flowOf(t, body)}, "upn": {upn}})
	if strings.Contains(body, `data-kind="consent"`) {
		body, _ = fetch(t, ctx, c, http.MethodPost, at.JoinPath("/_entratest/consent").String(), url.Values{"flow": {flowOf(t, body)}, "action": {"accept"}})
	}
	return body
}

func flowOf(t *testing.T, page string) string {
	t.Helper()
	m := flowField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no flow field on the emulator's page:\n%s", page)
	}
	return m[1]
}

// fetch sends a request (a form when form is not nil), follows redirects, and
// returns the body and the origin it came from.
func fetch(t *testing.T, ctx context.Context, c *http.Client, method, u string, form url.Values) (string, *url.URL) {
	t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), &url.URL{Scheme: resp.Request.URL.Scheme, Host: resp.Request.URL.Host}
}
