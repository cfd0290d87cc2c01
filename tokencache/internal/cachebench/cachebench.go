package cachebench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
	"github.com/consentry/consentry/tokencache"
)

// Sizes are the numbers of users in the store.
var Sizes = []int{10, 10_000, 100_000}

// Filler writes value under each of keys, as fast as the store allows (for
// Redis, pipelined).
type Filler func(ctx context.Context, keys []string, value []byte) error

// Round benchmarks one user's Replace+Export round on s with an encrypted
// Cache, for each of Sizes users in the store. fill adds the other users
// (nil: Store.Set one by one). It reports the bytes of the user's partition,
// plain (MSAL JSON) and as stored (encrypted).
func Round(b *testing.B, s tokencache.Store, fill Filler) {
	key := make([]byte, tokencache.KeySize)
	_, _ = rand.Read(key)
	c, err := tokencache.New(s, tokencache.WithKey("k1", key))
	if err != nil {
		b.Fatal(err)
	}
	if fill == nil {
		fill = setEach(s)
	}
	plain := UserDoc("bench-user", time.Now().Add(24*time.Hour))
	ctx := context.Background()
	m := &serializer{data: plain}
	if err := c.Export(ctx, m, cache.ExportHints{PartitionKey: partition("bench-user")}); err != nil {
		b.Fatal(err)
	}
	stored, _, err := s.Get(ctx, partition("bench-user"))
	if err != nil {
		b.Fatal(err)
	}
	have := 1
	for _, n := range Sizes {
		if err := addUsers(ctx, fill, have, n, len(stored)); err != nil {
			b.Fatal(err)
		}
		have = n
		runtime.GC() // finish collecting the fill's garbage before measuring
		b.Run("users="+strconv.Itoa(n), func(b *testing.B) {
			roundLoop(b, c, m)
			b.ReportMetric(float64(len(plain)), "plainB/user")
			b.ReportMetric(float64(len(stored)), "storedB/user")
		})
	}
}

func roundLoop(b *testing.B, c *tokencache.Cache, m *serializer) {
	ctx := context.Background()
	key := partition("bench-user")
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if err := c.Replace(ctx, m, cache.ReplaceHints{PartitionKey: key}); err != nil {
			b.Fatal(err)
		}
		if err := c.Export(ctx, m, cache.ExportHints{PartitionKey: key}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// cpuTime is the user+system CPU time of this process so far: unlike wall
// time it does not count time spent waiting for a CPU held by other
// processes, so it stays comparable on a shared machine. It includes the
// garbage collector's work.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// addUsers fills users from..to-1 with opaque blobs of the size of a real
// encrypted partition: the Cache never reads another user's entry, so only
// their number and size matter.
func addUsers(ctx context.Context, fill Filler, from, to, size int) error {
	if to <= from {
		return nil
	}
	blob := make([]byte, size)
	_, _ = rand.Read(blob)
	const batch = 1000
	for lo := from; lo < to; lo += batch {
		keys := make([]string, 0, batch)
		for i := lo; i < min(lo+batch, to); i++ {
			keys = append(keys, partition("user-"+strconv.Itoa(i)))
		}
		if err := fill(ctx, keys, blob); err != nil {
			return fmt.Errorf("cachebench: fill: %w", err)
		}
	}
	return nil
}

func setEach(s tokencache.Store) Filler {
	return func(ctx context.Context, keys []string, value []byte) error {
		for _, k := range keys {
			if err := s.Set(ctx, k, value, 90*24*time.Hour); err != nil {
				return err
			}
		}
		return nil
	}
}

// partition is MSAL's partition key for a user: home account id uid.utid.
func partition(user string) string {
	return "00000000-0000-0000-0000-" + fmt.Sprintf("%012x", hash(user)) + ".72f988bf-86f1-41af-91ab-2d7cd011db47"
}

func hash(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h & 0xffffffffffff
}

// serializer stands in for MSAL's in-memory cache.
type serializer struct{ data []byte }

// Marshal implements cache.Marshaler.
func (s *serializer) Marshal() ([]byte, error) { return s.data, nil }

// Unmarshal implements cache.Unmarshaler, keeping a copy of b.
func (s *serializer) Unmarshal(b []byte) error { s.data = append(s.data[:0], b...); return nil }

// UserDoc is an MSAL Go cache document for one user as Entra ID fills it
// after a sign-in: an access token (JWT, 1,600 chars), a refresh token (1,200
// chars), an ID token (1,100 chars), the account and app metadata.
func UserDoc(user string, atExpires time.Time) []byte {
	home, env, realm, client := partition(user), "login.microsoftonline.com", "72f988bf-86f1-41af-91ab-2d7cd011db47", "6731de76-14a6-49ae-97bc-6eba6914391e"
	unix := func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
	d := map[string]map[string]map[string]string{
		"AccessToken": {home + "-" + env + "-accesstoken-" + client + "-" + realm + "-user.read openid profile": {
			"home_account_id": home, "environment": env, "realm": realm, "credential_type": "AccessToken",
			"client_id": client, "secret": secret(1600), "target": "User.Read openid profile",
			"expires_on": unix(atExpires), "extended_expires_on": unix(atExpires),
			"cached_at": unix(cachedAt(atExpires)), "token_type": "Bearer"}},
		"RefreshToken": {home + "-" + env + "-refreshtoken-" + client + "--": {
			"home_account_id": home, "environment": env, "credential_type": "RefreshToken",
			"client_id": client, "secret": secret(1200)}},
		"IdToken": {home + "-" + env + "-idtoken-" + client + "-" + realm + "-": {
			"home_account_id": home, "environment": env, "realm": realm, "credential_type": "IdToken",
			"client_id": client, "secret": idToken(home, realm, client, 1100)}},
		"Account": {home + "-" + env + "-" + realm: {
			"home_account_id": home, "environment": env, "realm": realm, "local_account_id": home[:36],
			"authority_type": "MSSTS", "username": user + "@contoso.com"}},
		"AppMetadata": {"appmetadata-" + env + "-" + client: {"client_id": client, "environment": env}},
	}
	b, _ := json.Marshal(d)
	return b
}

// cachedAt is when a token expiring at exp was cached: an hour before, but
// not in the future (MSAL ignores such a token).
func cachedAt(exp time.Time) time.Time {
	if t := exp.Add(-time.Hour); t.Before(time.Now()) {
		return t
	}
	return time.Now()
}

// idToken is a JWT of n characters with the claims of an Entra ID token.
func idToken(home, realm, client string, n int) string {
	enc := base64.RawURLEncoding.EncodeToString
	head := enc([]byte(`{"typ":"JWT","alg":"RS256","kid":"k"}`)) + "." + enc([]byte(`{"aud":"`+client+
		`","iss":"https://login.microsoftonline.com/`+realm+`/v2.0","iat":1700000000,"nbf":1700000000,"exp":1900000000,`+
		`"name":"Bench User","oid":"`+home[:36]+`","preferred_username":"bench@contoso.com","sub":"s","tid":"`+realm+`","ver":"2.0"}`)) + "."
	return head + secret(max(n-len(head), 16))
}

func secret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}
