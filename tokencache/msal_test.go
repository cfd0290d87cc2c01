package tokencache_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/consentry/consentry/tokencache"
)

const (
	testClientID = "client-1"
	redirectURI  = "https://app.example/auth/callback"
)

var testScopes = []string{"User.Read"}

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

// TestMSALUsersNeverCross signs in two users on one MSAL client and cache and
// checks each silent call returns that user's token, one partition per user.
func TestMSALUsersNeverCross(t *testing.T) {
	ts := newTokenServer(t)
	store := tokencache.NewMemoryStore()
	client := newClient(t, ts, newCache(t, store, tokencache.WithKey("k1", newKey(t))))
	alice := signIn(t, client, "alice")
	bob := signIn(t, client, "bob")
	calls := ts.calls.Load()
	for range 3 {
		res, err := silent(client, alice.Account)
		wantTokenOf(t, res, err, "alice")
		res, err = silent(client, bob.Account)
		wantTokenOf(t, res, err, "bob")
	}
	if got := ts.calls.Load() - calls; got != 0 {
		t.Errorf("silent calls hit the token endpoint %d times; want 0 (served from cache)", got)
	}
	if store.Len() != 2 {
		t.Errorf("store holds %d partitions; want 2 (one per user)", store.Len())
	}
	for _, u := range []string{"alice", "bob"} {
		if _, found, _ := store.Get(context.Background(), homeAccountID(u)); !found {
			t.Errorf("no partition %q", homeAccountID(u))
		}
	}
}

// TestMSALUnknownAccountFindsNothing: after alice's call loaded her
// partition, a silent call for a user with no partition must not see it.
func TestMSALUnknownAccountFindsNothing(t *testing.T) {
	ts := newTokenServer(t)
	client := newClient(t, ts, newCache(t, nil))
	alice := signIn(t, client, "alice")
	if res, err := silent(client, alice.Account); err != nil {
		t.Fatal(err)
	} else {
		wantTokenOf(t, res, nil, "alice")
	}
	mallory := alice.Account
	mallory.HomeAccountID = homeAccountID("mallory")
	if res, err := silent(client, mallory); err == nil {
		t.Fatalf("silent call for an account with no partition returned %q; want an error", res.AccessToken)
	}
}

// TestMSALRejectsMovedBlob copies alice's blob over bob's partition: bob's
// call finds no token (the entry is corrupt for his partition) instead of
// returning alice's.
func TestMSALRejectsMovedBlob(t *testing.T) {
	ts := newTokenServer(t)
	store := tokencache.NewMemoryStore()
	c := newCache(t, store, tokencache.WithKey("k1", newKey(t)))
	client := newClient(t, ts, c)
	signIn(t, client, "alice")
	bob := signIn(t, client, "bob")
	ctx := context.Background()
	blob, _, err := store.Get(ctx, homeAccountID("alice"))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Set(ctx, homeAccountID("bob"), blob, 0); err != nil {
		t.Fatal(err)
	}
	res, err := silent(client, bob.Account)
	if err == nil || res.AccessToken != "" {
		t.Fatalf("silent(bob) over alice's blob = %q, %v; want no token", res.AccessToken, err)
	}
	_, _, err = c.AccessToken(ctx, tokencache.TokenQuery{HomeAccountID: bob.Account.HomeAccountID, Scopes: testScopes})
	var be *tokencache.BlobError
	if !errors.Is(err, tokencache.ErrDecrypt) || !errors.As(err, &be) || be.Partition != homeAccountID("bob") || !be.Corrupt() {
		t.Fatalf("reading bob's partition: %v; want a corrupt *BlobError wrapping ErrDecrypt", err)
	}
}

// TestMSALKeyRotation signs in with key k1, then rotates to k2 (k1 kept as
// an old key): the old blob still serves tokens, and the refresh writes a
// blob only k2 opens.
func TestMSALKeyRotation(t *testing.T) {
	ts := newTokenServer(t)
	store := tokencache.NewMemoryStore()
	k1, k2 := newKey(t), newKey(t)
	alice := signIn(t, newClient(t, ts, newCache(t, store, tokencache.WithKey("k1", k1))), "alice")

	rotated := newClient(t, ts, newCache(t, store, tokencache.WithKey("k2", k2), tokencache.WithKey("k1", k1)))
	res, err := silent(rotated, alice.Account)
	wantTokenOf(t, res, err, "alice")

	ts.expiresIn.Store(60) // under MSAL's 5-minute margin: the next silent call refreshes
	calls := ts.calls.Load()
	signIn(t, rotated, "alice")
	res, err = silent(rotated, alice.Account)
	wantTokenOf(t, res, err, "alice")
	if ts.calls.Load() == calls {
		t.Fatal("no network call: the rotated cache never wrote")
	}
	onlyK1 := newClient(t, ts, newCache(t, store, tokencache.WithKey("k1", k1)))
	if _, err := silent(onlyK1, alice.Account); !errors.Is(err, tokencache.ErrUnknownKey) {
		t.Fatalf("silent with only the old key after rotation: %v; want ErrUnknownKey", err)
	}
	onlyK2 := newClient(t, ts, newCache(t, store, tokencache.WithKey("k2", k2)))
	res, err = silent(onlyK2, alice.Account)
	wantTokenOf(t, res, err, "alice")
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

// TestMSALRoundTrips: with a real MSAL client, a sign-in costs one store
// read (Replace) and one compare-and-swap (Export); a silent call from the
// cache costs one read.
func TestMSALRoundTrips(t *testing.T) {
	ts := newTokenServer(t)
	s := &countingStore{MemoryStore: tokencache.NewMemoryStore()}
	client := newClient(t, ts, newCache(t, s, tokencache.WithKey("k1", newKey(t))))
	alice := signIn(t, client, "alice")
	if s.gets != 1 || s.swaps != 1 || s.sets != 0 {
		t.Fatalf("sign-in: %d reads, %d compare-and-swaps, %d sets; want 1, 1, 0", s.gets, s.swaps, s.sets)
	}
	s.gets, s.swaps = 0, 0
	res, err := silent(client, alice.Account)
	wantTokenOf(t, res, err, "alice")
	if s.gets != 1 || s.swaps != 0 {
		t.Fatalf("silent call: %d reads, %d compare-and-swaps; want 1, 0", s.gets, s.swaps)
	}
}
