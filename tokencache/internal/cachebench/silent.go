package cachebench

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/consentry/consentry/tokencache"
)

// The authority and app of UserDoc.
const (
	benchAuthority = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47"
	benchClient    = "6731de76-14a6-49ae-97bc-6eba6914391e"
)

var benchScopes = []string{"User.Read"}

// Silent benchmarks reading one user's access token from an encrypted Cache
// on s, the cold path of a replica that has not seen the user yet: "MSAL" is
// MSAL's AcquireTokenSilent (Replace: one Get, decrypt, MSAL's unmarshal of
// the partition, then its lookup), "AccessToken" is Cache.AccessToken (one
// Get, decrypt, one scan of the JSON), "Get" the Store read alone. Both
// return the same token, checked first.
func Silent(b *testing.B, s tokencache.Store) {
	c, client, acct := silentSetup(b, s)
	q := tokencache.TokenQuery{ClientID: benchClient, HomeAccountID: acct.HomeAccountID, Scopes: benchScopes}
	var err error
	if q.Authority, err = tokencache.ParseAuthority(benchAuthority); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	res, err := client.AcquireTokenSilent(ctx, benchScopes, confidential.WithSilentAccount(acct))
	if err != nil {
		b.Fatalf("MSAL: %v", err)
	}
	tok, ok, err := c.AccessToken(ctx, q)
	if err != nil || !ok || tok.AccessToken != res.AccessToken || !tok.ExpiresOn.Equal(res.ExpiresOn) || !reflect.DeepEqual(tok.GrantedScopes, res.GrantedScopes) {
		b.Fatalf("AccessToken = %v, %v, %v; want MSAL's token", tok.ExpiresOn, ok, err)
	}
	b.Run("MSAL", func(b *testing.B) {
		measure(b, func() error {
			_, err := client.AcquireTokenSilent(ctx, benchScopes, confidential.WithSilentAccount(acct))
			return err
		})
	})
	b.Run("Get", func(b *testing.B) { // the store read alone: the floor of both
		measure(b, func() error {
			_, _, err := s.Get(ctx, acct.HomeAccountID)
			return err
		})
	})
	b.Run("AccessToken", func(b *testing.B) {
		measure(b, func() error {
			if _, ok, err := c.AccessToken(ctx, q); !ok {
				return errors.Join(errors.New("cachebench: no token"), err)
			}
			return nil
		})
	})
}

func silentSetup(b *testing.B, s tokencache.Store) (*tokencache.Cache, confidential.Client, confidential.Account) {
	key := make([]byte, tokencache.KeySize)
	_, _ = rand.Read(key)
	c, err := tokencache.New(s, tokencache.WithKey("k1", key))
	if err != nil {
		b.Fatal(err)
	}
	acct := confidential.Account{HomeAccountID: partition("bench-user")}
	m := &serializer{data: UserDoc("bench-user", time.Now().Add(time.Hour))}
	if err := c.Export(context.Background(), m, cache.ExportHints{PartitionKey: acct.HomeAccountID}); err != nil {
		b.Fatal(err)
	}
	cred, err := confidential.NewCredFromSecret("secret")
	if err != nil {
		b.Fatal(err)
	}
	offline := &http.Client{Transport: offlineTransport{}}
	client, err := confidential.New(benchAuthority, benchClient, cred, confidential.WithHTTPClient(offline),
		confidential.WithInstanceDiscovery(false), confidential.WithCache(c))
	if err != nil {
		b.Fatal(err)
	}
	return c, client, acct
}

// offlineTransport fails every request: the benchmarks never leave the cache.
type offlineTransport struct{}

func (offlineTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("cachebench: no network")
}

// measure runs op in b's loop and reports its CPU time per op.
func measure(b *testing.B, op func() error) {
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
