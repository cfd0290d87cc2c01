package sealed

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"
)

// sealV1 seals plain as the middleware did before package seal, written out
// here rather than through this package: AES-256-GCM under
// HMAC-SHA256(secret, info), the nonce first, ad as additional data.
func sealV1(t *testing.T, secret []byte, info, ad string, plain []byte) []byte {
	t.Helper()
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(info))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, gcm.NonceSize())
	_, _ = rand.Read(nonce)
	return gcm.Seal(nonce, nonce, plain, []byte(ad))
}

func TestLegacyRecordsOpen(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	old, current := []byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")
	tests := []struct {
		name    string
		secret  []byte // the secret the record was sealed with
		info    string
		moved   bool // the blob is stored under another id's key
		expires time.Time
		want    bool
	}{
		{"tenant record", current, "consentry/sealed/v1/tenant", false, time.Time{}, true},
		{"sealed with a rotated-out secret", old, "consentry/sealed/v1/tenant", false, time.Time{}, true},
		{"not yet expired", current, "consentry/sealed/v1/tenant", false, now.Add(time.Minute), true},
		{"expired", current, "consentry/sealed/v1/tenant", false, now.Add(-time.Minute), false},
		{"another kind of record", current, "consentry/sealed/v1/loop", false, time.Time{}, false},
		{"moved to another key", current, "consentry/sealed/v1/tenant", true, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kv := &memKV{m: map[string][]byte{}}
			b, err := New(kv, [][]byte{current, old}, "tenant", "consentry:tenant:", func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			plain := []byte(`{"v":{"N":7}}`)
			if !tt.expires.IsZero() {
				plain = []byte(`{"e":"` + tt.expires.Format(time.RFC3339Nano) + `","v":{"N":7}}`)
			}
			key := b.Key("contoso")
			stored := key
			if tt.moved {
				stored = b.Key("fabrikam")
			}
			kv.m[stored] = sealV1(t, tt.secret, tt.info, key, plain)
			var r rec
			found, err := b.Get(ctx, "contoso", &r)
			if err != nil || found != tt.want || (found && r.N != 7) {
				t.Fatalf("Get = %v, %v, %+v; want found=%v with N=7", found, err, r, tt.want)
			}
			if !tt.want {
				return
			}
			if found, err := b.Take(ctx, "contoso", &r); !found || err != nil {
				t.Fatalf("Take = %v, %v; want the record", found, err)
			}
			if found, _ := b.Get(ctx, "contoso", &r); found {
				t.Error("the record is still there after Take")
			}
		})
	}
}

// TestPutRewritesLegacy: a record read in the Legacy format is written back
// in package seal's, which the Legacy keys do not open.
func TestPutRewritesLegacy(t *testing.T) {
	ctx := context.Background()
	secret := []byte("0123456789abcdef0123456789abcdef")
	kv := &memKV{m: map[string][]byte{}}
	b, err := New(kv, [][]byte{secret}, "tenant", "consentry:tenant:", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	key := b.Key("contoso")
	kv.m[key] = sealV1(t, secret, "consentry/sealed/v1/tenant", key, []byte(`{"v":{"N":7}}`))
	if err := b.Put(ctx, "contoso", rec{N: 8}, 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.legacy.open(b.prefix, key, kv.m[key]); ok {
		t.Error("Put wrote the Legacy format")
	}
	var r rec
	if found, err := b.Get(ctx, "contoso", &r); !found || err != nil || r.N != 8 {
		t.Fatalf("Get = %v, %v, %+v; want N=8", found, err, r)
	}
}

// TestLegacyBareTrimmed: a Box given a Legacy format whose records were
// bound to the key without its prefix and not wrapped in an envelope.
func TestLegacyBareTrimmed(t *testing.T) {
	ctx := context.Background()
	secret := []byte("0123456789abcdef0123456789abcdef")
	kv := &memKV{m: map[string][]byte{}}
	legacy := Legacy{Info: "consentry/flow/v1", TrimPrefix: true, Bare: true}
	b, err := NewWithLegacy(kv, [][]byte{secret}, "flow", "consentry:flow:", time.Now, legacy)
	if err != nil {
		t.Fatal(err)
	}
	key := b.Key("state")
	kv.m[key] = sealV1(t, secret, "consentry/flow/v1", key[len("consentry:flow:"):], []byte(`{"N":7}`))
	var r rec
	if res, err := b.TakeIf(ctx, "state", &r, nil); res != Taken || err != nil || r.N != 7 {
		t.Fatalf("TakeIf = %v, %v, %+v; want Taken with N=7", res, err, r)
	}
}
