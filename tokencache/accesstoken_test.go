package tokencache_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/alicebob/miniredis/v2"
	"github.com/consentry/consentry/tokencache"
	"github.com/consentry/consentry/tokencache/redisstore"
	"github.com/redis/go-redis/v9"
)

// The account, app and authority of the documents compared with MSAL.
const (
	oracleAuthority = "https://login.microsoftonline.com/tenant-1"
	oracleHost      = "login.microsoftonline.com"
	oracleClient    = "client-1"
	oracleHome      = "uid-alice.tenant-1"
)

// oracle is a real MSAL confidential client over a Cache whose store holds
// the document under test, with no network: whatever MSAL returns comes
// from the document.
type oracle struct {
	store   *tokencache.MemoryStore
	cache   *tokencache.Cache
	client  confidential.Client
	network atomic.Int64 // requests MSAL tried to send
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func newOracle(t testing.TB, opts ...tokencache.Option) *oracle {
	o := &oracle{store: tokencache.NewMemoryStore()}
	o.cache = newCache(t, o.store, opts...)
	cred, err := confidential.NewCredFromSecret("secret")
	if err != nil {
		t.Fatal(err)
	}
	offline := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		o.network.Add(1)
		return nil, errors.New("offline")
	})}
	o.client, err = confidential.New(oracleAuthority, oracleClient, cred, confidential.WithHTTPClient(offline),
		confidential.WithInstanceDiscovery(false), confidential.WithCache(o.cache))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func oracleQuery(t testing.TB, scopes []string) tokencache.TokenQuery {
	auth, err := tokencache.ParseAuthority(oracleAuthority)
	if err != nil {
		t.Fatal(err)
	}
	return tokencache.TokenQuery{Authority: auth, ClientID: oracleClient, HomeAccountID: oracleHome, Scopes: scopes}
}

// msalTries bounds the AcquireTokenSilent calls compare makes to see MSAL
// return the Cache's answer. MSAL returns the first matching entry in Go's
// map order, which starts at a random slot of a group of 8: each matching
// entry of a small map comes first with probability at least 1/8 (not 1/n),
// so 400 calls miss it with probability (7/8)^400 < 10^-23. The loop stops
// at the first match.
const msalTries = 400

// compare stores doc as alice's partition, asks Cache.AccessToken and MSAL's
// AcquireTokenSilent for scopes, and reports whether the Cache answered. If
// it did, every MSAL call must return a token from the cache (no error, no
// network) and one of them the Cache's token, field for field.
func (o *oracle) compare(t testing.TB, doc []byte, scopes []string) bool {
	t.Helper()
	ctx := context.Background()
	if err := o.store.Set(ctx, oracleHome, doc, 0); err != nil {
		t.Fatal(err)
	}
	got, ok, err := o.cache.AccessToken(ctx, oracleQuery(t, scopes))
	if err != nil && ok {
		t.Fatalf("AccessToken: ok with error %v", err)
	}
	for i := range msalTries {
		net := o.network.Load()
		res, merr := o.client.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(confidential.Account{HomeAccountID: oracleHome}))
		if !ok {
			return false
		}
		if merr != nil || o.network.Load() != net {
			t.Fatalf("AccessToken(%q) returned %q; MSAL call %d returned an error (%v) or went to the network\ndoc: %s", scopes, got.AccessToken, i, merr, doc)
		}
		want := tokencache.CachedToken{AccessToken: res.AccessToken, ExpiresOn: res.ExpiresOn,
			RefreshOn: res.Metadata.RefreshOn, GrantedScopes: res.GrantedScopes}
		if reflect.DeepEqual(got, want) {
			return true
		}
	}
	t.Fatalf("AccessToken(%q) = %+v; MSAL never returned it in %d calls\ndoc: %s", scopes, got, msalTries, doc)
	return false
}

type fields = map[string]any

// accessToken is an access token entry as MSAL Go v1.10.1 writes it, for
// alice in realm with target, expiring in expiresIn.
func accessToken(secret, realm, target string, expiresIn time.Duration) fields {
	now := time.Now()
	return fields{"home_account_id": oracleHome, "environment": oracleHost, "realm": realm,
		"credential_type": "AccessToken", "client_id": oracleClient, "secret": secret, "target": target,
		"expires_on": unixString(now.Add(expiresIn)), "extended_expires_on": unixString(now.Add(expiresIn)),
		"cached_at": unixString(now.Add(-time.Minute)), "token_type": "Bearer"}
}

func unixString(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// with returns a copy of e with the members of kv set (nil: removed).
func with(e fields, kv ...any) fields {
	out := fields{}
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// atKey is MSAL's key of an access token entry.
func atKey(e fields) string {
	k := strings.Join([]string{e["home_account_id"].(string), e["environment"].(string), "accesstoken",
		e["client_id"].(string), e["realm"].(string), e["target"].(string)}, "-")
	if tt, _ := e["token_type"].(string); !strings.EqualFold(tt, "bearer") {
		k += "-" + tt
	}
	return strings.ToLower(k)
}

// idToken is an ID token entry whose secret is a JWT with Entra's claims.
func idToken(realm string) fields {
	return fields{"home_account_id": oracleHome, "environment": oracleHost, "realm": realm,
		"credential_type": "IdToken", "client_id": oracleClient, "secret": jwt(`{"aud":"client-1","iss":"https://login.microsoftonline.com/` + realm + `/v2.0","oid":"uid-alice","tid":"` + realm + `","preferred_username":"alice@contoso.example","exp":1900000000,"iat":1700000000,"nbf":1700000000}`)}
}

func idKey(e fields) string {
	return strings.ToLower(strings.Join([]string{oracleHome, e["environment"].(string), "idtoken", oracleClient, e["realm"].(string), ""}, "-"))
}

func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(payload)) + "." + secret(342)
}

// cacheDoc is alice's document with the given access tokens and ID tokens,
// her refresh token, account and the app metadata.
func cacheDoc(ats []fields, idts []fields) []byte {
	d := map[string]map[string]fields{"AccessToken": {}, "IdToken": {},
		"RefreshToken": {oracleHome + "-" + oracleHost + "-refreshtoken-" + oracleClient + "--": {
			"home_account_id": oracleHome, "environment": oracleHost, "credential_type": "RefreshToken",
			"client_id": oracleClient, "secret": secret(refreshTokenLen)}},
		"Account": {oracleHome + "-" + oracleHost + "-tenant-1": {"home_account_id": oracleHome,
			"environment": oracleHost, "realm": "tenant-1", "local_account_id": "uid-alice",
			"authority_type": "MSSTS", "username": "alice@contoso.example"}},
		"AppMetadata": {"appmetadata-" + oracleHost + "-" + oracleClient: {"client_id": oracleClient, "environment": oracleHost}},
	}
	for _, e := range ats {
		d["AccessToken"][atKey(e)] = e
	}
	for _, e := range idts {
		d["IdToken"][idKey(e)] = e
	}
	b, err := json.Marshal(d)
	if err != nil {
		panic(err)
	}
	return b
}

type lookupCase struct {
	name string
	doc  []byte
	// hits lists queries (scopes joined by spaces) and whether AccessToken
	// must answer them; it must never answer differently from MSAL.
	hits map[string]bool
}

// lookupCases are the cache shapes Cache.AccessToken is compared with MSAL
// on: tenants and scope sets per user, expiry, case, unknown members, and
// shapes it must leave to MSAL.
func lookupCases() []lookupCase {
	hour := time.Hour
	user := accessToken("at-user", "tenant-1", "User.Read openid profile", hour)
	mail := accessToken("at-mail", "tenant-1", "Mail.Read openid profile email", hour)
	other := accessToken("at-other-tenant", "tenant-2", "User.Read openid profile", hour)
	id, id2 := idToken("tenant-1"), idToken("tenant-2")
	raw := func(s string) []byte { return []byte(s) }
	one := string(cacheDoc([]fields{user}, []fields{id}))
	return []lookupCase{
		{"one token", []byte(one), map[string]bool{"User.Read": true, "user.read openid": true, "Mail.Read": false}},
		{"several scope sets", cacheDoc([]fields{user, mail}, []fields{id}),
			map[string]bool{"User.Read": true, "Mail.Read": true, "MAIL.READ email": true, "openid": true, "Calendars.Read": false}},
		{"several tenants", cacheDoc([]fields{user, other, with(mail, "realm", "tenant-2")}, []fields{id, id2}),
			map[string]bool{"User.Read": true, "Mail.Read": false}},
		{"only another tenant", cacheDoc([]fields{other}, []fields{id2}), map[string]bool{"User.Read": false}},
		{"superset in two entries", cacheDoc([]fields{user, accessToken("at-both", "tenant-1", "User.Read Mail.Read", 2*hour)}, nil),
			map[string]bool{"User.Read": true, "Mail.Read": true}},
		{"superset in two entries, one expired", cacheDoc([]fields{user, accessToken("at-both", "tenant-1", "User.Read Mail.Read", -hour)}, nil),
			map[string]bool{"User.Read": false, "Mail.Read": false}},
		{"superset in two entries, one expiring the same second", cacheDoc([]fields{user, accessToken("at-both", "tenant-1", "User.Read Mail.Read", hour)}, nil),
			map[string]bool{"User.Read": true}},
		{"target case", cacheDoc([]fields{with(user, "target", "user.read OPENID Profile")}, []fields{id}), map[string]bool{"User.Read": true}},
		{"repeated scope in target", cacheDoc([]fields{with(user, "target", "User.Read User.Read")}, []fields{id}),
			map[string]bool{"User.Read": false, "User.Read Mail.Read": true}}, // MSAL counts each match
		{"expired", cacheDoc([]fields{accessToken("at-old", "tenant-1", "User.Read", -hour)}, []fields{id}), map[string]bool{"User.Read": false}},
		{"within the margin", cacheDoc([]fields{accessToken("at-soon", "tenant-1", "User.Read", 4*time.Minute)}, []fields{id}), map[string]bool{"User.Read": false}},
		{"just past the margin", cacheDoc([]fields{accessToken("at-ok", "tenant-1", "User.Read", 7*time.Minute)}, []fields{id}), map[string]bool{"User.Read": true}},
		{"expired and valid", cacheDoc([]fields{accessToken("at-old", "tenant-1", "User.Read openid", -hour), mail}, []fields{id}),
			map[string]bool{"User.Read": false, "Mail.Read": true}},
		{"refresh_on passed", cacheDoc([]fields{with(user, "refresh_on", unixString(time.Now().Add(-time.Minute)))}, []fields{id}), map[string]bool{"User.Read": false}},
		{"refresh_on ahead", cacheDoc([]fields{with(user, "refresh_on", unixString(time.Now().Add(30*time.Minute)))}, []fields{id}), map[string]bool{"User.Read": true}},
		{"cached in the future", cacheDoc([]fields{with(user, "cached_at", unixString(time.Now().Add(time.Hour)))}, []fields{id}), map[string]bool{"User.Read": false}},
		{"no cached_at", cacheDoc([]fields{with(user, "cached_at", nil)}, []fields{id}), map[string]bool{"User.Read": false}},
		{"token_type lower case", cacheDoc([]fields{with(user, "token_type", "bearer")}, []fields{id}), map[string]bool{"User.Read": true}},
		{"no token_type", cacheDoc([]fields{with(user, "token_type", nil)}, []fields{id}), map[string]bool{"User.Read": true}},
		{"pop token", cacheDoc([]fields{with(user, "token_type", "pop", "keyid", "k")}, []fields{id}), map[string]bool{"User.Read": false}},
		{"ext_cache_key", cacheDoc([]fields{with(user, "ext_cache_key", "abc")}, []fields{id}), map[string]bool{"User.Read": false}},
		{"unknown members", cacheDoc([]fields{with(user, "x_ms_extra", fields{"a": []any{1, 2.5e3, nil, true}})}, []fields{with(id, "x", "y")}),
			map[string]bool{"User.Read": true}},
		{"unknown section", raw(strings.Replace(one, `{"AccessToken"`, `{"Future":{"k":[{"v":-1.5E-3}]},"AccessToken"`, 1)), map[string]bool{"User.Read": true}},
		{"no ID token", cacheDoc([]fields{user}, nil), map[string]bool{"User.Read": true}},
		{"ID token of another realm only", cacheDoc([]fields{user}, []fields{id2}), map[string]bool{"User.Read": true}},
		{"ID token not a JWT", cacheDoc([]fields{user}, []fields{with(id, "secret", "opaque")}), map[string]bool{"User.Read": false}},
		{"ID token claims of the wrong type", cacheDoc([]fields{user}, []fields{with(id, "secret", jwt(`{"exp":"soon"}`))}), map[string]bool{"User.Read": false}},
		{"escaped secret", raw(strings.Replace(one, `"secret":"at-user"`, `"secret":"at\u002duser\/\u00e9"`, 1)), map[string]bool{"User.Read": true}},
		{"another environment", cacheDoc([]fields{with(user, "environment", "login.windows.net")}, []fields{id}), map[string]bool{"User.Read": false}},
		{"Go field name as a member", cacheDoc([]fields{with(user, "Secret", "at-go")}, []fields{id}), map[string]bool{"User.Read": false}},
		{"upper case key", raw(strings.Replace(one, oracleHome+"-"+oracleHost+"-accesstoken", "UID-alice.tenant-1-"+oracleHost+"-accesstoken", 1)), map[string]bool{"User.Read": false}},
		{"refresh token of the wrong type", raw(strings.Replace(one, `"credential_type":"RefreshToken"`, `"credential_type":7`, 1)), map[string]bool{"User.Read": false}},
		{"time as a number", raw(strings.Replace(one, `"cached_at":"`, `"cached_at":1`, 1)), map[string]bool{"User.Read": false}},
		{"time with a sign", raw(strings.Replace(one, `"cached_at":"`, `"cached_at":"+`, 1)), map[string]bool{"User.Read": true}},
		{"repeated section", raw(strings.Replace(one, `{"AccessToken"`, `{"AccessToken":{},"AccessToken"`, 1)), map[string]bool{"User.Read": false}},
		{"section null", raw(strings.Replace(one, `"IdToken":{`, `"IdToken":null,"x":{`, 1)), map[string]bool{"User.Read": true}},
		{"trailing data", raw(one + "x"), map[string]bool{"User.Read": false}},
		{"truncated", raw(one[:len(one)-1]), map[string]bool{"User.Read": false}},
		{"empty", raw(`{}`), map[string]bool{"User.Read": false}},
	}
}

// TestAccessTokenMatchesMSAL: over every shape, Cache.AccessToken returns
// exactly the token a real MSAL AcquireTokenSilent returns, or nothing, and
// it answers the plain shapes.
func TestAccessTokenMatchesMSAL(t *testing.T) {
	o := newOracle(t)
	for _, tc := range lookupCases() {
		t.Run(tc.name, func(t *testing.T) {
			for q, want := range tc.hits {
				if got := o.compare(t, tc.doc, strings.Fields(q)); got != want {
					t.Errorf("AccessToken(%q) answered=%v; want %v", q, got, want)
				}
			}
		})
	}
}

// TestAccessTokenSkewedClock: whatever clock the Cache was given
// (WithClock), AccessToken returns no token MSAL, judging by the real clock,
// would refresh: not one that expired an hour ago for a clock lagging by
// hours, nor one cached in the future for a clock running ahead.
func TestAccessTokenSkewedClock(t *testing.T) {
	real := time.Now()
	expired := with(accessToken("at-expired", "tenant-1", "User.Read", -time.Hour),
		"cached_at", unixString(real.Add(-3*time.Hour)))
	for _, skew := range []time.Duration{-150 * time.Minute, 2 * time.Hour} {
		o := newOracle(t, tokencache.WithClock(func() time.Time { return real.Add(skew) }))
		doc := cacheDoc([]fields{expired}, nil)
		if skew > 0 {
			doc = cacheDoc([]fields{with(accessToken("at-future", "tenant-1", "User.Read", 3*time.Hour),
				"cached_at", unixString(real.Add(time.Hour)))}, nil)
		}
		if o.compare(t, doc, []string{"User.Read"}) {
			t.Errorf("clock skewed by %v: AccessToken answered where MSAL refreshes", skew)
		}
	}
}

// FuzzAccessTokenMatchesMSAL: for any document, Cache.AccessToken never
// returns a token MSAL's AcquireTokenSilent would not. Seeded with the
// shapes above and the merge fuzz corpus of the cache format.
func FuzzAccessTokenMatchesMSAL(f *testing.F) {
	for _, tc := range lookupCases() {
		f.Add(tc.doc, "User.Read")
	}
	f.Add([]byte(`{"AccessToken":{"a":{"cached_at":"1"}}}`), "User.Read")
	f.Add([]byte(`{"AccessToken":{"a":{"cached_at":"2"}},"RefreshToken":{"r":{}}}`), "openid")
	f.Add([]byte(`{"Account":{"k\"\u00e9":{"x":[1,2]}}}`), "User.Read")
	f.Add([]byte(`{}`), "User.Read")
	o := newOracle(f)
	f.Fuzz(func(t *testing.T, doc []byte, scopes string) {
		if s := strings.Fields(scopes); len(s) > 0 {
			o.compare(t, doc, s)
		}
	})
}

// shapeDoc builds a document of alice's from the bytes of seed: each access
// token entry takes its realm, environment, scopes (case, order, repeats),
// token type, expiry, refresh_on, cached_at and ext_cache_key from the next
// bytes; then the ID tokens. It returns the document and the scopes to ask
// for.
func shapeDoc(seed []byte) ([]byte, []string) {
	next := func() int {
		if len(seed) == 0 {
			return 0
		}
		b := int(seed[0])
		seed = seed[1:]
		return b
	}
	pick := func(xs ...string) string { return xs[next()%len(xs)] }
	pool := []string{"User.Read", "Mail.Read", "openid", "profile", "USER.READ", "mail.read"}
	scopes := func() []string {
		var s []string
		for range 1 + next()%3/2 {
			s = append(s, pool[next()%len(pool)])
		}
		return s
	}
	offsets := []time.Duration{-time.Hour, 4 * time.Minute, 7 * time.Minute, time.Hour, time.Hour, 2 * time.Hour}
	var ats, idts []fields
	for i := range 1 + next()%3 {
		e := accessToken("at-"+strconv.Itoa(i), pick("tenant-1", "tenant-1", "tenant-1", "tenant-2"),
			strings.Join(append(scopes(), "openid", "profile"), " "), offsets[next()%len(offsets)])
		e = with(e, "environment", pick(oracleHost, oracleHost, oracleHost, oracleHost, oracleHost, "login.windows.net"),
			"token_type", pick("Bearer", "Bearer", "Bearer", "bearer", "", "pop"))
		switch next() % 12 {
		case 0:
			e = with(e, "refresh_on", unixString(time.Now().Add(-time.Minute)))
		case 1:
			e = with(e, "refresh_on", unixString(time.Now().Add(time.Hour)))
		case 2:
			e = with(e, "cached_at", unixString(time.Now().Add(time.Hour)))
		case 3:
			e = with(e, "ext_cache_key", "k")
		}
		ats = append(ats, e)
	}
	for range next() % 3 {
		idts = append(idts, with(idToken(pick("tenant-1", "tenant-2")), "environment", pick(oracleHost, oracleHost, "login.windows.net")))
	}
	return cacheDoc(ats, idts), scopes()
}

// FuzzAccessTokenShapes: over documents built from MSAL-shaped entries
// (shapeDoc), Cache.AccessToken never returns a token MSAL's
// AcquireTokenSilent does not.
func FuzzAccessTokenShapes(f *testing.F) {
	for _, s := range []string{"\x01\x00\x00\x00\x00\x04\x00\x00\x00\x01\x00", "\x02\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x01\x01\x00\x00\x05\x00\x00\x00\x01\x00",
		"\x03\x01\x01\x01\x00\x05\x01\x00\x04\x00\x02\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00\x00\x02\x00\x00\x00\x01\x01"} {
		f.Add([]byte(s))
	}
	o := newOracle(f)
	f.Fuzz(func(t *testing.T, seed []byte) {
		doc, scopes := shapeDoc(seed)
		o.compare(t, doc, scopes)
	})
}

// TestAccessTokenShapes runs the comparison over 400 documents of
// shapeDoc from a fixed pseudo-random sequence, and checks that
// AccessToken answers a fair share of them (it must not pass by never
// answering).
func TestAccessTokenShapes(t *testing.T) {
	o, rng := newOracle(t), rand.New(rand.NewPCG(1, 2))
	answered := 0
	for range 400 {
		seed := make([]byte, 40)
		for i := range seed {
			seed[i] = byte(rng.Uint32())
		}
		doc, scopes := shapeDoc(seed)
		if o.compare(t, doc, scopes) {
			answered++
		}
	}
	t.Logf("answered %d of 400", answered)
	if answered < 40 {
		t.Errorf("AccessToken answered %d of 400 documents; want at least 40", answered)
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
