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
	"reflect"
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

// TestAccessTokenMatchesMSALOnEntraEmulator: after real sign-ins through the
// Entra ID emulator (two users, two scope sets each, encrypted on
// miniredis), Cache.AccessToken returns exactly the token MSAL's
// AcquireTokenSilent returns (one of those it returns, when several entries
// match), and answers every scope set the users consented to.
func TestAccessTokenMatchesMSALOnEntraEmulator(t *testing.T) {
	e := newEntraEnv(t)
	e.srv.GrantDelegated(e.tenant.ID, e.app.ClientID, "", "Mail.Read")
	rdb := redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	c := newCache(t, redisstore.New(rdb), tokencache.WithKey("k1", newKey(t)))
	client := e.client(t, c)
	auth, err := tokencache.ParseAuthority(e.srv.Authority(e.tenant.ID))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	compare := func(acct confidential.Account, scopes []string) bool {
		t.Helper()
		got, ok, err := c.AccessToken(ctx, tokencache.TokenQuery{Authority: auth, ClientID: e.app.ClientID,
			HomeAccountID: acct.HomeAccountID, Scopes: scopes})
		if err != nil || !ok {
			return false
		}
		for range msalTries { // MSAL picks one of several matching entries at random
			res, merr := client.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct))
			want := tokencache.CachedToken{AccessToken: res.AccessToken, ExpiresOn: res.ExpiresOn,
				RefreshOn: res.Metadata.RefreshOn, GrantedScopes: res.GrantedScopes}
			if merr != nil {
				t.Fatalf("AccessToken(%v) answered; MSAL: %v", scopes, merr)
			}
			if reflect.DeepEqual(got, want) {
				return true
			}
		}
		t.Fatalf("AccessToken(%v) = %+v; MSAL never returned it", scopes, got)
		return false
	}
	for name := range e.users {
		acct := e.signIn(t, client, name).Account
		if !compare(acct, testScopes) {
			t.Errorf("AccessToken(%s, %v) did not answer after sign-in", name, testScopes)
		}
		e.signInFor(t, client, name, []string{"Mail.Read"}) // a second entry: Entra grants both scopes again
		for _, scopes := range [][]string{{"User.Read"}, {"Mail.Read"}, {"mail.read"}, {"User.Read", "Mail.Read"}} {
			if !compare(acct, scopes) {
				t.Errorf("AccessToken(%s, %v) did not answer", name, scopes)
			}
		}
		if compare(acct, []string{"Calendars.Read"}) {
			t.Errorf("AccessToken(%s, Calendars.Read) answered; no token has that scope", name)
		}
	}
}
