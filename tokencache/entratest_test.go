package tokencache_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/alicebob/miniredis/v2"
	"github.com/consentry/consentry/middleware/entratest"
	"github.com/consentry/consentry/tokencache"
	"github.com/consentry/consentry/tokencache/redisstore"
	"github.com/redis/go-redis/v9"
)

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
	u, err := client.AuthCodeURL(context.Background(), e.app.ClientID, e.redirect, testScopes)
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
	res, err := client.AcquireTokenByAuthCode(context.Background(), page.URL.Query().Get("code"), e.redirect, testScopes, confidential.WithChallenge(verifier))
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

// TestEntraEmulator runs the must-show properties against the project's Entra
// ID emulator (signed JWTs, real client_info, consent, PKCE) over Redis
// (miniredis): users never cross, a restart keeps the cache, a moved blob is
// rejected.
func TestEntraEmulator(t *testing.T) {
	e := newEntraEnv(t)
	addr, key := miniredis.RunT(t).Addr(), newKey(t)
	process := func() (*tokencache.Cache, confidential.Client) {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { _ = rdb.Close() })
		c := newCache(t, redisstore.New(rdb), tokencache.WithKey("k1", key))
		return c, e.client(t, c)
	}
	_, client := process()
	accounts := map[string]confidential.Account{}
	for name := range e.users {
		accounts[name] = e.signIn(t, client, name).Account
	}
	_, restarted := process()
	calls := e.srv.Count(entratest.EndpointToken)
	for _, c := range []confidential.Client{client, restarted} {
		for name, acct := range accounts {
			res, err := silent(c, acct)
			if err != nil || oid(t, res.AccessToken) != e.users[name].ObjectID {
				t.Fatalf("silent(%s): %v, token of oid %q; want %q", name, err, oid(t, res.AccessToken), e.users[name].ObjectID)
			}
		}
	}
	if got := e.srv.Count(entratest.EndpointToken) - calls; got != 0 {
		t.Errorf("silent calls reached the token endpoint %d times; want 0", got)
	}
	t.Run("moved blob", func(t *testing.T) { moveBlob(t, process, accounts) })
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
