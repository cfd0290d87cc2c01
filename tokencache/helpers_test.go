package tokencache_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
)

// Realistic sizes of Entra ID tokens, in characters.
const (
	accessTokenLen  = 1600
	refreshTokenLen = 1200
	idTokenLen      = 1100
)

func secret(n int) string {
	b := make([]byte, n*3/4)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// userDoc returns an MSAL Go (v1.10.1) cache document for one user with one
// access token (expiring at atExpires), a refresh token, an ID token, the
// account and app metadata, with token sizes like Entra ID's.
func userDoc(user string, atExpires time.Time) string {
	return docWith(user, map[string]string{"rt": secret(refreshTokenLen)}, atExpires)
}

// docWith is userDoc with one refresh token per entry of rts (key suffix ->
// secret).
func docWith(user string, rts map[string]string, atExpires time.Time) string {
	home, env, realm, client := "uid-"+user+".tenant-1", "login.microsoftonline.com", "tenant-1", "client-1"
	unix := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
	d := map[string]map[string]any{
		"AccessToken": {home + "-" + env + "-accesstoken-" + client + "-" + realm + "-user.read openid profile": map[string]any{
			"home_account_id": home, "environment": env, "realm": realm, "credential_type": "AccessToken",
			"client_id": client, "secret": secret(accessTokenLen), "target": "User.Read openid profile",
			"expires_on": unix(atExpires), "extended_expires_on": unix(atExpires),
			"cached_at": unix(atExpires.Add(-time.Hour)), "token_type": "Bearer",
		}},
		"RefreshToken": {},
		"IdToken": {home + "-" + env + "-idtoken-" + client + "-" + realm + "-": map[string]any{
			"home_account_id": home, "environment": env, "realm": realm, "credential_type": "IdToken",
			"client_id": client, "secret": secret(idTokenLen),
		}},
		"Account": {home + "-" + env + "-" + realm: map[string]any{
			"home_account_id": home, "environment": env, "realm": realm, "local_account_id": "uid-" + user,
			"authority_type": "MSSTS", "username": user + "@example.com",
		}},
		"AppMetadata": {"appmetadata-" + env + "-" + client: map[string]any{"client_id": client, "environment": env}},
	}
	for k, s := range rts {
		d["RefreshToken"][home+"-"+env+"-refreshtoken-"+client+"-"+k] = map[string]any{
			"home_account_id": home, "environment": env, "credential_type": "RefreshToken",
			"client_id": client, "secret": s,
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func decode(t testing.TB, b []byte) map[string]map[string]map[string]any {
	t.Helper()
	var d map[string]map[string]map[string]any
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("MSAL JSON %q: %v", b, err)
	}
	return d
}

func wantSameJSON(t testing.TB, got []byte, want string) {
	t.Helper()
	if g, w := decode(t, got), decode(t, []byte(want)); !reflect.DeepEqual(g, w) {
		t.Fatalf("MSAL JSON differs:\n got %s\nwant %s", got, want)
	}
}

// refreshSecrets returns the refresh token secrets in an MSAL document.
func refreshSecrets(t testing.TB, b []byte) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, e := range decode(t, b)["RefreshToken"] {
		out[fmt.Sprint(e["secret"])] = true
	}
	return out
}

// tokenServer is a tiny Entra-like token endpoint over TLS, enough to drive a
// real MSAL Go confidential client: OpenID discovery and a token endpoint
// that redeems "code-<user>" and refresh tokens it issued. Users are
// identified by name; their uid is "uid-<name>" in tenant testTenant.
type tokenServer struct {
	*httptest.Server
	expiresIn atomic.Int64 // seconds; access token lifetime
	calls     atomic.Int64 // token endpoint calls
	mu        sync.Mutex
	serial    int
	refresh   map[string]string // refresh token -> user
}

const testTenant = "tenant-1"

func newTokenServer(t *testing.T) *tokenServer {
	ts := &tokenServer{refresh: map[string]string{}}
	ts.expiresIn.Store(3600)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", ts.discovery)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", ts.token)
	ts.Server = httptest.NewTLSServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) authority() string { return ts.URL + "/" + testTenant }

func (ts *tokenServer) discovery(w http.ResponseWriter, r *http.Request) {
	base := ts.URL + "/" + r.PathValue("tenant")
	writeJSON(w, http.StatusOK, map[string]string{
		"authorization_endpoint": base + "/oauth2/v2.0/authorize",
		"token_endpoint":         base + "/oauth2/v2.0/token",
		"issuer":                 ts.URL + "/" + testTenant + "/v2.0",
	})
}

func (ts *tokenServer) token(w http.ResponseWriter, r *http.Request) {
	ts.calls.Add(1)
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	user, ok := ts.userFor(r.PostForm)
	if !ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	}
	writeJSON(w, http.StatusOK, ts.issue(user, r.PostForm.Get("scope"), r.PostForm.Get("client_id")))
}

// userFor returns the user a code or refresh token belongs to.
func (ts *tokenServer) userFor(f map[string][]string) (string, bool) {
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	switch get("grant_type") {
	case "authorization_code":
		user, ok := strings.CutPrefix(get("code"), "code-")
		return user, ok && user != ""
	case "refresh_token":
		ts.mu.Lock()
		defer ts.mu.Unlock()
		user, ok := ts.refresh[get("refresh_token")]
		return user, ok
	}
	return "", false
}

func (ts *tokenServer) issue(user, scope, clientID string) map[string]any {
	ts.mu.Lock()
	ts.serial++
	n := ts.serial
	rt := fmt.Sprintf("rt-%s-%d", user, n)
	ts.refresh[rt] = user
	ts.mu.Unlock()
	now := time.Now().Unix()
	return map[string]any{
		"token_type":    "Bearer",
		"access_token":  fmt.Sprintf("at-%s-%d", user, n),
		"refresh_token": rt,
		"expires_in":    ts.expiresIn.Load(),
		"scope":         scope,
		"client_info":   b64(fmt.Sprintf(`{"uid":"uid-%s","utid":%q}`, user, testTenant)),
		"id_token": "eyJhbGciOiJub25lIn0." + b64(fmt.Sprintf(
			`{"iss":%q,"aud":%q,"oid":"uid-%s","tid":%q,"sub":"sub-%s","preferred_username":"%s@example.com","name":%q,"iat":%d,"exp":%d}`,
			ts.URL+"/"+testTenant+"/v2.0", clientID, user, testTenant, user, user, user, now, now+3600)) + ".",
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// homeAccountID is MSAL's partition key for user in tokenServer's tenant.
func homeAccountID(user string) string { return "uid-" + user + "." + testTenant }

func newKey(t testing.TB) []byte {
	k := make([]byte, tokencache.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func newCache(t testing.TB, s tokencache.Store, opts ...tokencache.Option) *tokencache.Cache {
	t.Helper()
	c, err := tokencache.New(s, opts...)
	if err != nil {
		t.Fatalf("tokencache.New: %v", err)
	}
	return c
}

// newClient returns a real MSAL confidential client on ts using c.
func newClient(t *testing.T, ts *tokenServer, c *tokencache.Cache) confidential.Client {
	t.Helper()
	cred, err := confidential.NewCredFromSecret("secret")
	if err != nil {
		t.Fatal(err)
	}
	client, err := confidential.New(ts.authority(), testClientID, cred,
		confidential.WithHTTPClient(ts.Client()),
		confidential.WithInstanceDiscovery(false),
		confidential.WithCache(c))
	if err != nil {
		t.Fatalf("confidential.New: %v", err)
	}
	return client
}

// signIn redeems user's auth code and returns the result.
func signIn(t *testing.T, client confidential.Client, user string) confidential.AuthResult {
	t.Helper()
	res, err := client.AcquireTokenByAuthCode(context.Background(), "code-"+user, redirectURI, testScopes)
	if err != nil {
		t.Fatalf("AcquireTokenByAuthCode(%s): %v", user, err)
	}
	if got := res.Account.HomeAccountID; got != homeAccountID(user) {
		t.Fatalf("HomeAccountID = %q; want %q", got, homeAccountID(user))
	}
	return res
}

func silent(client confidential.Client, acct confidential.Account) (confidential.AuthResult, error) {
	return client.AcquireTokenSilent(context.Background(), testScopes, confidential.WithSilentAccount(acct))
}

func wantTokenOf(t *testing.T, res confidential.AuthResult, err error, user string) {
	t.Helper()
	if err != nil {
		t.Fatalf("AcquireTokenSilent(%s): %v", user, err)
	}
	if !strings.HasPrefix(res.AccessToken, "at-"+user+"-") {
		t.Fatalf("AcquireTokenSilent(%s) returned access token %q of another user", user, res.AccessToken)
	}
}

// countingStore counts calls to a MemoryStore seen as a remote store.
type countingStore struct {
	*tokencache.MemoryStore
	gets, swaps, sets int
}

func (c *countingStore) InProcess() bool { return false }

func (c *countingStore) Get(ctx context.Context, k string) ([]byte, bool, error) {
	c.gets++
	return c.MemoryStore.Get(ctx, k)
}

func (c *countingStore) Set(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	c.sets++
	return c.MemoryStore.Set(ctx, k, v, ttl)
}

func (c *countingStore) CompareAndSwap(ctx context.Context, k string, old, v []byte, ttl time.Duration) (bool, error) {
	c.swaps++
	return c.MemoryStore.CompareAndSwap(ctx, k, old, v, ttl)
}

// entraEnv is the Entra ID emulator with one tenant, two users and an app
// whose users have consented to User.Read.
type entraEnv struct {
	srv      *entratest.Server
	app      entratest.App
	tenant   entratest.Tenant
	users    map[string]entratest.User
	redirect string
	appSrv   *httptest.Server
}

func newEntraEnv(t *testing.T) *entraEnv {
	e := &entraEnv{srv: entratest.NewServer(), users: map[string]entratest.User{}}
	t.Cleanup(e.srv.Close)
	e.appSrv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(e.appSrv.Close)
	e.redirect = e.appSrv.URL + "/auth/callback"
	e.tenant = e.srv.AddTenant(entratest.Tenant{Domain: "contoso.example"})
	for _, name := range []string{"alice", "bob"} {
		e.users[name] = e.srv.AddUser(entratest.User{TenantID: e.tenant.ID, UPN: name + "@contoso.example"})
	}
	e.app = e.srv.AddApp(entratest.App{HomeTenantID: e.tenant.ID, Secrets: []string{"s3cret"},
		RedirectURIs: []string{e.redirect}, RequiredScopes: []string{"User.Read"}})
	e.srv.GrantDelegated(e.tenant.ID, e.app.ClientID, "", "User.Read")
	return e
}

func (e *entraEnv) client(t *testing.T, c *tokencache.Cache) confidential.Client {
	t.Helper()
	cred, err := confidential.NewCredFromSecret("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	client, err := confidential.New(e.srv.Authority(e.tenant.ID), e.app.ClientID, cred,
		confidential.WithHTTPClient(e.srv.Client()), confidential.WithInstanceDiscovery(false), confidential.WithCache(c))
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// signIn walks the emulator's pages as user and redeems the code (PKCE).
func (e *entraEnv) signIn(t *testing.T, client confidential.Client, user string) confidential.AuthResult {
	t.Helper()
	return e.signInFor(t, client, user, testScopes)
}

// signInFor is signIn asking for scopes.
func (e *entraEnv) signInFor(t *testing.T, client confidential.Client, user string, scopes []string) confidential.AuthResult {
	t.Helper()
	u, err := client.AuthCodeURL(context.Background(), e.app.ClientID, e.redirect, scopes)
	if err != nil {
		t.Fatal(err)
	}
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"state": {"st"}, "nonce": {"n"}, "code_challenge_method": {"S256"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}}
	b := e.srv.NewBrowser(e.appSrv.Certificate())
	b.User, b.Consent = e.users[user].UPN, entratest.Accept
	page, err := b.Get(u + "&" + q.Encode())
	if err != nil || page.URL.Query().Get("code") == "" {
		t.Fatalf("sign-in of %s: %v (%+v)", user, err, page)
	}
	res, err := client.AcquireTokenByAuthCode(context.Background(), page.URL.Query().Get("code"), e.redirect, scopes, confidential.WithChallenge(verifier))
	if err != nil {
		t.Fatalf("AcquireTokenByAuthCode(%s): %v", user, err)
	}
	return res
}

// oid returns the oid claim of an access token.
func oid(t *testing.T, jwt string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct{ Oid string }
	if err != nil || json.Unmarshal(b, &claims) != nil {
		t.Fatalf("JWT payload %q: %v", b, err)
	}
	return claims.Oid
}

func moveBlob(t *testing.T, process func() (*tokencache.Cache, confidential.Client), accounts map[string]confidential.Account) {
	c, client := process()
	ctx := context.Background()
	blob, found, err := c.Store().Get(ctx, accounts["alice"].HomeAccountID)
	if err != nil || !found {
		t.Fatalf("alice's partition: %v, found=%v", err, found)
	}
	if err := c.Store().Set(ctx, accounts["bob"].HomeAccountID, blob, 0); err != nil {
		t.Fatal(err)
	}
	res, err := silent(client, accounts["bob"])
	if err == nil || res.AccessToken != "" {
		t.Fatalf("silent(bob) over alice's blob: token %v, %v; want none", res.AccessToken != "", err)
	}
	_, _, err = c.AccessToken(ctx, tokencache.TokenQuery{HomeAccountID: accounts["bob"].HomeAccountID, Scopes: testScopes})
	if !errors.Is(err, tokencache.ErrDecrypt) {
		t.Fatalf("reading bob's partition over alice's blob: %v; want ErrDecrypt", err)
	}
}
