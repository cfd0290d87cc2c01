package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"testing"
)

func TestSealOpen(t *testing.T) {
	old, err := Derive("info", [][]byte{[]byte("old-secret-old-secret-old-secret")})
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := Derive("info", [][]byte{[]byte("new-secret-new-secret-new-secret"), []byte("old-secret-old-secret-old-secret")})
	other, _ := Derive("other info", [][]byte{[]byte("old-secret-old-secret-old-secret")})
	data, err := old.Seal(nil, []byte("plain"), "key1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ring *Keyring
		ad   string
		data []byte
		want error
	}{
		{"same keys", old, "key1", data, nil},
		{"rotated: old key still opens", cur, "key1", data, nil},
		{"moved to another key", old, "key2", data, ErrDecrypt},
		{"other label", other, "key1", data, ErrUnknownKey}, // its derived key has another id
		{"truncated", old, "key1", data[:5], ErrMalformed},
		{"no keys", NewKeyring("info"), "key1", data, ErrUnknownKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plain, _, err := tc.ring.Open(nil, tc.data, tc.ad)
			if !errors.Is(err, tc.want) || (err == nil && string(plain) != "plain") {
				t.Errorf("Open = %q, %v; want %v", plain, err, tc.want)
			}
		})
	}
	if fresh, _ := cur.Seal(nil, []byte("plain"), "key1"); bytes.Equal(fresh[2:18], data[2:18]) {
		t.Error("a rotated ring seals with the old key")
	}
	if _, _, err := old.Open(nil, data, "key2"); errors.Is(err, ErrUnknownKey) {
		t.Error("a known key id reported unknown")
	}
	if _, err := Derive("info", nil); err == nil {
		t.Error("Derive without secrets succeeded")
	}
}

// TestKeyringBlobFormat: the header names the key id, and a blob's nonce is
// fresh every time.
func TestKeyringBlobFormat(t *testing.T) {
	k := NewKeyring("d")
	if err := k.Add("k1", bytes.Repeat([]byte{7}, KeySize)); err != nil {
		t.Fatal(err)
	}
	if err := k.Add("k1", bytes.Repeat([]byte{8}, KeySize)); err == nil {
		t.Error("a key id added twice")
	}
	if err := k.Add("k2", []byte("short")); err == nil {
		t.Error("a short key added")
	}
	a, _ := k.Seal(nil, []byte("x"), "p")
	b, _ := k.Seal(nil, []byte("x"), "p")
	if a[0] != Version || a[1] != 2 || string(a[2:4]) != "k1" || bytes.Equal(a, b) {
		t.Errorf("blobs %x and %x", a, b)
	}
	if ID("state") == ID("other") || len(ID("state")) != 32 {
		t.Errorf("ID = %q", ID("state"))
	}
}

// TestBlobFormatIsStable: a blob built by hand to the documented format
// (what tokencache has always written) opens, so stored partitions stay
// readable.
func TestBlobFormatIsStable(t *testing.T) {
	const domain, ad = "consentry/tokencache/v1\x00", "partition"
	key := bytes.Repeat([]byte{9}, KeySize)
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	header := []byte{Version, 2, 'k', '1'}
	nonce := bytes.Repeat([]byte{1}, NonceSize)
	aad := append([]byte(domain), 0, 0, 0, byte(len(ad)))
	aad = append(append(aad, ad...), header...)
	blob := gcm.Seal(append(append([]byte{}, header...), nonce...), nonce, []byte(`{"x":1}`), aad)
	k := NewKeyring(domain)
	if err := k.Add("k1", key); err != nil {
		t.Fatal(err)
	}
	plain, id, err := k.Open(nil, blob, ad)
	if err != nil || id != "k1" || string(plain) != `{"x":1}` {
		t.Fatalf("Open = %q, %q, %v", plain, id, err)
	}
}
