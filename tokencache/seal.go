package tokencache

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Blob format, version 1 (all blobs written with a key):
//
//	0x01 | len(keyID) (1 byte) | keyID | nonce (12 bytes) | AES-256-GCM ciphertext+tag
//
// The additional data is sealAAD | len(partition key) (4 bytes) | partition key | header, where the
// header is everything before the nonce, so a blob opens only under the
// partition it was written for and its key id cannot be altered. Plaintext
// blobs (only ever held by an InProcess store) are MSAL's JSON as is and start
// with '{'.
const (
	sealVersion = 0x01
	nonceSize   = 12
	sealAAD     = "consentry/tokencache/v1\x00"
	// KeySize is the length in bytes of an encryption key (AES-256).
	KeySize = 32
)

var (
	// ErrUnknownKey is wrapped by a *BlobError when a blob was sealed with a
	// key id that the Cache was not given (see WithKey), or a sealed blob is
	// read by a Cache without keys.
	ErrUnknownKey = errors.New("tokencache: blob sealed with an unknown key id")
	// ErrDecrypt is wrapped by a *BlobError when a blob fails authentication:
	// the key under its id is wrong, the blob was tampered with, or it was
	// copied from another partition.
	ErrDecrypt = errors.New("tokencache: blob failed authentication (wrong key, tampered, or moved from another partition)")
	// ErrMalformed is wrapped by a *BlobError when stored bytes are not a
	// blob this Cache can read, including a plaintext blob read by a Cache
	// that has keys.
	ErrMalformed = errors.New("tokencache: malformed blob")
)

// BlobError reports a stored partition that could not be opened. Err is one
// of ErrUnknownKey, ErrDecrypt or ErrMalformed. A Cache never turns such a
// blob into an empty cache silently.
type BlobError struct {
	Partition string // partition key
	KeyID     string // key id found in the blob, if any
	Err       error
}

// Error implements error.
func (e *BlobError) Error() string {
	return fmt.Sprintf("%v (partition %q, key id %q)", e.Err, e.Partition, e.KeyID)
}

// Unwrap returns e.Err.
func (e *BlobError) Unwrap() error { return e.Err }

// keyring holds the AEADs by key id; current seals new blobs.
type keyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

func (k *keyring) add(id string, key []byte) error {
	if id == "" || len(id) > 255 {
		return fmt.Errorf("tokencache: key id must be 1 to 255 bytes, got %d", len(id))
	}
	if len(key) != KeySize {
		return fmt.Errorf("tokencache: key %q must be %d bytes (AES-256), got %d", id, KeySize, len(key))
	}
	if _, dup := k.aeads[id]; dup {
		return fmt.Errorf("tokencache: key id %q given twice", id)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("tokencache: key %q: %w", id, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("tokencache: key %q: %w", id, err)
	}
	if k.aeads == nil {
		k.aeads = map[string]cipher.AEAD{}
		k.current = id
	}
	k.aeads[id] = aead
	return nil
}

func (k *keyring) enabled() bool { return k.current != "" }

// seal encrypts plain for partition with the current key, appending to
// dst[:0]. Without keys it returns plain itself.
func (k *keyring) seal(dst []byte, partition string, plain []byte) ([]byte, error) {
	if !k.enabled() {
		return plain, nil
	}
	aead := k.aeads[k.current]
	hlen := 2 + len(k.current)
	out := slices.Grow(dst[:0], hlen+nonceSize+len(plain)+aead.Overhead())[:hlen+nonceSize]
	out[0], out[1] = sealVersion, byte(len(k.current))
	copy(out[2:], k.current)
	if _, err := rand.Read(out[hlen:]); err != nil {
		return nil, fmt.Errorf("tokencache: nonce: %w", err)
	}
	return aead.Seal(out, out[hlen:], plain, aad(partition, out[:hlen])), nil
}

// open reverses seal, appending the plaintext to dst[:0]. Without keys it
// returns blob itself. Errors are *BlobError.
func (k *keyring) open(partition string, blob, dst []byte) ([]byte, error) {
	if len(blob) > 0 && blob[0] == '{' {
		if k.enabled() {
			return nil, &BlobError{Partition: partition, Err: fmt.Errorf("%w: plaintext blob where an encrypted one was expected", ErrMalformed)}
		}
		return blob, nil
	}
	if len(blob) < 2 || blob[0] != sealVersion || len(blob) < 2+int(blob[1])+nonceSize {
		return nil, &BlobError{Partition: partition, Err: ErrMalformed}
	}
	hlen := 2 + int(blob[1])
	id := string(blob[2:hlen])
	aead, ok := k.aeads[id]
	if !ok {
		return nil, &BlobError{Partition: partition, KeyID: id, Err: ErrUnknownKey}
	}
	nonce := blob[hlen : hlen+nonceSize]
	plain, err := aead.Open(dst[:0], nonce, blob[hlen+nonceSize:], aad(partition, blob[:hlen]))
	if err != nil {
		return nil, &BlobError{Partition: partition, KeyID: id, Err: ErrDecrypt}
	}
	return plain, nil
}

func aad(partition string, header []byte) []byte {
	b := make([]byte, 0, len(sealAAD)+4+len(partition)+len(header))
	b = append(b, sealAAD...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(partition)))
	b = append(b, partition...)
	return append(b, header...)
}
