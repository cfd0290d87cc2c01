package entratest_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
	"github.com/consentry/consentry/middleware/entratest"
)

// fakeClock is the injected clock; tests move it, never sleep.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// memCache is an MSAL cache.ExportReplace whose access tokens a test can
// expire: MSAL has no clock seam, so "time passing" for MSAL is simulated by
// rewriting expires_on in its serialized cache.
type memCache struct {
	mu   sync.Mutex
	data []byte
}

func (m *memCache) Replace(_ context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.data) == 0 {
		return u.Unmarshal([]byte("{}"))
	}
	return u.Unmarshal(m.data)
}

func (m *memCache) Export(_ context.Context, mm cache.Marshaler, _ cache.ExportHints) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := mm.Marshal()
	m.data = b
	return err
}

// expireAccessTokens marks every cached access token as expired.
func (m *memCache) expireAccessTokens(t *testing.T) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	var doc map[string]map[string]map[string]any
	if err := json.Unmarshal(m.data, &doc); err != nil {
		t.Fatalf("cache json: %v", err)
	}
	for _, at := range doc["AccessToken"] {
		at["expires_on"] = "1"
		at["extended_expires_on"] = "1"
	}
	b, _ := json.Marshal(doc)
	m.data = b
}

const secret = "s3cret-value"

// cp1Claims is the claims parameter MSAL sends for an app that declares the
// cp1 client capability (it handles claims challenges).
const cp1Claims = `{"access_token":{"xms_cc":{"values":["cp1"]}}}`

// env is a tenant with an admin and a user, a registered app whose redirect
// URI is a TLS test server, and the emulator on an injected clock.
type env struct {
	srv         *entratest.Server
	clk         *fakeClock
	tenant      entratest.Tenant
	admin, user entratest.User
	app         entratest.App
	appSrv      *httptest.Server
	redirect    string
}

func newEnv(t testing.TB, opts ...entratest.Option) *env {
	t.Helper()
	e := &env{clk: &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	e.srv = entratest.NewServer(append([]entratest.Option{entratest.WithClock(e.clk.Now)}, opts...)...)
	t.Cleanup(e.srv.Close)
	e.appSrv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "app got %s", r.URL.RawQuery)
	}))
	t.Cleanup(e.appSrv.Close)
	e.redirect = e.appSrv.URL + "/auth/callback"
	e.tenant = e.srv.AddTenant(entratest.Tenant{Domain: "contoso.example", DisplayName: "Contoso"})
	e.admin = e.srv.AddUser(entratest.User{TenantID: e.tenant.ID, UPN: "admin@contoso.example", DisplayName: "Ada Admin", Admin: true})
	e.user = e.srv.AddUser(entratest.User{TenantID: e.tenant.ID, UPN: "user@contoso.example", DisplayName: "Uma User"})
	e.app = e.srv.AddApp(entratest.App{DisplayName: "Consentry Test", HomeTenantID: e.tenant.ID,
		Secrets: []string{secret}, RedirectURIs: []string{e.redirect}, RequiredScopes: []string{"User.Read"},
		RequiredRoles: []string{"User.Read.All"}})
	return e
}

// newMultiTenantEnv is newEnv with the app registered as multi-tenant, as an
// app must be to use the organizations and common authorities.
func newMultiTenantEnv(t testing.TB, opts ...entratest.Option) *env {
	t.Helper()
	e := newEnv(t, opts...)
	e.app = e.srv.AddApp(entratest.App{DisplayName: "Consentry SaaS", HomeTenantID: e.tenant.ID, MultiTenant: true,
		Secrets: []string{secret}, RedirectURIs: []string{e.redirect}, RequiredScopes: []string{"User.Read"},
		RequiredRoles: []string{"User.Read.All"}})
	return e
}

func (e *env) browser(upn string, c entratest.ConsentAction) *entratest.Browser {
	b := e.srv.NewBrowser(e.appSrv.Certificate())
	b.User, b.Consent = upn, c
	return b
}

func (e *env) msal(t *testing.T, authority string, c cache.ExportReplace) confidential.Client {
	t.Helper()
	cred, err := confidential.NewCredFromSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	opts := []confidential.Option{confidential.WithHTTPClient(e.srv.Client()), confidential.WithInstanceDiscovery(false)}
	if c != nil {
		opts = append(opts, confidential.WithCache(c))
	}
	client, err := confidential.New(e.srv.Authority(authority), e.app.ClientID, cred, opts...)
	if err != nil {
		t.Fatalf("confidential.New: %v", err)
	}
	return client
}

// authURL builds an authorize URL with MSAL and adds state and PKCE.
func (e *env) authURL(t *testing.T, client confidential.Client, scopes []string, extra url.Values) (string, string) {
	t.Helper()
	u, err := client.AuthCodeURL(context.Background(), e.app.ClientID, e.redirect, scopes)
	if err != nil {
		t.Fatalf("AuthCodeURL: %v", err)
	}
	verifier := strings.Repeat("v", 20) + base64.RawURLEncoding.EncodeToString([]byte(t.Name()+"-verifier-123456"))
	sum := sha256.Sum256([]byte(verifier))
	v := url.Values{"state": {"st-1"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}, "nonce": {"n-1"}}
	for k, x := range extra {
		v[k] = x
	}
	return u + "&" + v.Encode(), verifier
}

// signIn walks the authorize flow with b and redeems the code with client.
func (e *env) signIn(t *testing.T, client confidential.Client, b *entratest.Browser, scopes []string, extra url.Values) (confidential.AuthResult, error) {
	t.Helper()
	u, verifier := e.authURL(t, client, scopes, extra)
	page, err := b.Get(u)
	if err != nil {
		t.Fatalf("browser: %v (trail %+v)", err, page)
	}
	code := page.URL.Query().Get("code")
	if code == "" {
		return confidential.AuthResult{}, fmt.Errorf("no code: %s (trail %+v)", page.URL, page.Trail)
	}
	if got := page.URL.Query().Get("state"); got != "st-1" {
		t.Fatalf("state = %q", got)
	}
	return client.AcquireTokenByAuthCode(context.Background(), code, e.redirect, scopes, confidential.WithChallenge(verifier))
}

// claimsOf decodes a JWT's payload without checking it.
func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }

func callErrBody(t *testing.T, err error) entraErrorBody {
	t.Helper()
	var ce msalerrors.CallErr
	if !errors.As(err, &ce) {
		t.Fatalf("want msal CallErr, got %T: %v", err, err)
	}
	b, _ := io.ReadAll(ce.Resp.Body)
	var body entraErrorBody
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("error body %q: %v", b, err)
	}
	return body
}

func graphGet(t *testing.T, e *env, token, path string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.GraphURL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func mustAuthURL(t *testing.T, e *env, client confidential.Client, scopes []string) string {
	t.Helper()
	u, _ := e.authURL(t, client, scopes, nil)
	return u
}

func confidentialAccount(r confidential.AuthResult) confidential.AcquireSilentOption {
	return confidential.WithSilentAccount(r.Account)
}

func trailKinds(p *entratest.Page) []string {
	var out []string
	for _, s := range p.Trail {
		out = append(out, s.Kind)
	}
	return out
}

func consentStep(p *entratest.Page) entratest.Step {
	for _, s := range p.Trail {
		if s.Kind == "consent" {
			return s
		}
	}
	return entratest.Step{}
}

// entraErrorBody is the token endpoint's error JSON as apps parse it.
type entraErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
	SubError    string `json:"suberror"`
	TraceID     string `json:"trace_id"`
	Correlation string `json:"correlation_id"`
	Timestamp   string `json:"timestamp"`
}
