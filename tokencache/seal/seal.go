package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
)

const (
	// Version is the format version, the first byte of every blob.
	Version = 0x01
	// NonceSize is the length of a blob's nonce.
	NonceSize = 12
	// KeySize is the length in bytes of a key (AES-256).
	KeySize = 32
)

// Errors of Open.
var (
	// ErrUnknownKey: the blob names a key id the Keyring does not hold.
	ErrUnknownKey = errors.New("seal: blob sealed with an unknown key id")
	// ErrDecrypt: the blob fails authentication (wrong key under its id,
	// tampered, or sealed for another ad or domain).
	ErrDecrypt = errors.New("seal: blob failed authentication")
	// ErrMalformed: the bytes are not a blob of this format.
	ErrMalformed = errors.New("seal: malformed blob")
)

// Keyring seals and opens blobs for one use (its domain). The first key
// added seals; every key opens the blobs that name it.
type Keyring struct {
	domain  string
	current string
	aeads   map[string]cipher.AEAD
}

// NewKeyring returns an empty Keyring whose blobs are bound to domain (for
// example "consentry/tokencache/v1\x00").
func NewKeyring(domain string) *Keyring { return &Keyring{domain: domain} }

// Add adds the AES-256 key under id (1 to 255 bytes). The first key added
// seals.
func (k *Keyring) Add(id string, key []byte) error {
	if id == "" || len(id) > 255 {
		return fmt.Errorf("seal: key id must be 1 to 255 bytes, got %d", len(id))
	}
	if len(key) != KeySize {
		return fmt.Errorf("seal: key %q must be %d bytes (AES-256), got %d", id, KeySize, len(key))
	}
	if _, dup := k.aeads[id]; dup {
		return fmt.Errorf("seal: key id %q given twice", id)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("seal: key %q: %w", id, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("seal: key %q: %w", id, err)
	}
	if k.aeads == nil {
		k.aeads = map[string]cipher.AEAD{}
		k.current = id
	}
	k.aeads[id] = aead
	return nil
}

// Derive returns a Keyring for domain holding one key per secret, derived
// with HKDF-SHA256 (info: domain) and named by a hash of the derived key, so
// that secrets can be rotated: the first seals, all open.
func Derive(domain string, secrets [][]byte) (*Keyring, error) {
	if len(secrets) == 0 {
		return nil, errors.New("seal: no secret: give at least one")
	}
	k := NewKeyring(domain)
	for i, sec := range secrets {
		key, err := hkdf.Key(sha256.New, sec, nil, domain, KeySize)
		if err != nil {
			return nil, fmt.Errorf("seal: derive key %d: %w", i, err)
		}
		sum := sha256.Sum256(append([]byte("consentry/seal/key-id\x00"), key...))
		id := hex.EncodeToString(sum[:8])
		if _, dup := k.aeads[id]; dup {
			continue // a secret given twice
		}
		if err := k.Add(id, key); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Empty reports whether k holds no key.
func (k *Keyring) Empty() bool { return k == nil || k.current == "" }

// Seal encrypts plain for ad with the current key, appending to dst[:0].
func (k *Keyring) Seal(dst, plain []byte, ad string) ([]byte, error) {
	if k.Empty() {
		return nil, errors.New("seal: no key to seal with")
	}
	aead := k.aeads[k.current]
	hlen := 2 + len(k.current)
	out := slices.Grow(dst[:0], hlen+NonceSize+len(plain)+aead.Overhead())[:hlen+NonceSize]
	out[0], out[1] = Version, byte(len(k.current))
	copy(out[2:], k.current)
	if _, err := rand.Read(out[hlen:]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return aead.Seal(out, out[hlen:], plain, k.aad(ad, out[:hlen])), nil
}

// Open reverses Seal for ad, appending the plaintext to dst[:0]. It returns
// the blob's key id when the blob names one, and an error wrapping
// ErrMalformed, ErrUnknownKey or ErrDecrypt when it does not open.
func (k *Keyring) Open(dst, blob []byte, ad string) (plain []byte, keyID string, err error) {
	if len(blob) < 2 || blob[0] != Version || len(blob) < 2+int(blob[1])+NonceSize {
		return nil, "", ErrMalformed
	}
	hlen := 2 + int(blob[1])
	id := string(blob[2:hlen])
	if k.Empty() {
		return nil, id, ErrUnknownKey
	}
	aead, ok := k.aeads[id]
	if !ok {
		return nil, id, ErrUnknownKey
	}
	nonce := blob[hlen : hlen+NonceSize]
	plain, err = aead.Open(dst[:0], nonce, blob[hlen+NonceSize:], k.aad(ad, blob[:hlen]))
	if err != nil {
		return nil, id, ErrDecrypt
	}
	return plain, id, nil
}

// aad is the additional data of a blob for ad with the given header.
func (k *Keyring) aad(ad string, header []byte) []byte {
	b := make([]byte, 0, len(k.domain)+4+len(ad)+len(header))
	b = append(b, k.domain...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ad)))
	b = append(b, ad...)
	return append(b, header...)
}

// ID is the public identifier of a secret identifier (a sign-in's state, a
// kept request's id): a hash, safe to use as a store key, in cookies and in
// logs, from which the identifier cannot be recovered.
func ID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:16])
}
