package tokencache_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"log"
	"os"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/consentry/consentry/tokencache"
)

// A Cache with no store keeps tokens in a bounded in-process MemoryStore;
// give it to MSAL with confidential.WithCache.
func ExampleNew() {
	c, err := tokencache.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	cred, err := confidential.NewCredFromSecret("client-secret")
	if err != nil {
		log.Fatal(err)
	}
	client, err := confidential.New("https://login.microsoftonline.com/organizations", "client-id", cred,
		confidential.WithCache(c))
	if err != nil {
		log.Fatal(err)
	}
	_ = client // AcquireTokenByAuthCode, AcquireTokenSilent, ...
	fmt.Printf("%T\n", c.Store())
	// Output: *tokencache.MemoryStore
}

// Any store outside the process needs a key. To rotate, put the new key
// first and keep the old one after it: old blobs still open, new writes use
// the new key.
func ExampleWithKey() {
	current := mustKey("TOKENCACHE_KEY_2026") // base64 of 32 random bytes
	previous := mustKey("TOKENCACHE_KEY_2025")
	c, err := tokencache.New(tokencache.NewMemoryStore(),
		tokencache.WithKey("2026", current),
		tokencache.WithKey("2025", previous))
	if err != nil {
		log.Fatal(err)
	}
	_ = c
}

func mustKey(env string) []byte {
	k, err := base64.StdEncoding.DecodeString(os.Getenv(env))
	if err != nil {
		log.Fatal(err)
	}
	return k
}

// Sign a user out: delete their partition. For a user the partition key is
// the MSAL account's HomeAccountID.
func ExampleCache_Remove() {
	c, err := tokencache.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	var account confidential.Account // from AuthResult.Account or client.Account
	account.HomeAccountID = "uid.utid"
	if err := c.Remove(context.Background(), account.HomeAccountID); err != nil {
		log.Print(err)
	}
	fmt.Println("signed out")
	// Output: signed out
}

// A MemoryStore bounded to 16 MiB: least recently used partitions are
// evicted beyond it.
func ExampleNewMemoryStore() {
	s := tokencache.NewMemoryStore(tokencache.WithMaxBytes(16 << 20))
	c, err := tokencache.New(s)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Store() == s)
	// Output: true
}

// Read a signed-in user's token with one store read, and ask MSAL only when
// the Cache cannot answer with certainty (no usable token: MSAL refreshes).
func ExampleCache_AccessToken() {
	const authority, clientID = "https://login.microsoftonline.com/organizations", "client-id"
	c, err := tokencache.New(nil)
	if err != nil {
		log.Fatal(err)
	}
	cred, err := confidential.NewCredFromSecret("client-secret")
	if err != nil {
		log.Fatal(err)
	}
	client, err := confidential.New(authority, clientID, cred, confidential.WithCache(c))
	if err != nil {
		log.Fatal(err)
	}
	auth, err := tokencache.ParseAuthority(authority) // once, at start-up
	if err != nil {
		log.Fatal(err)
	}
	token := func(ctx context.Context, acct confidential.Account, scopes []string) (string, error) {
		q := tokencache.TokenQuery{Authority: auth, ClientID: clientID, HomeAccountID: acct.HomeAccountID, Scopes: scopes}
		if t, ok, err := c.AccessToken(ctx, q); err == nil && ok {
			return t.AccessToken, nil
		}
		res, err := client.AcquireTokenSilent(ctx, scopes, confidential.WithSilentAccount(acct))
		return res.AccessToken, err
	}
	_ = token // in a request handler: token(r.Context(), account, []string{"User.Read"})
}
