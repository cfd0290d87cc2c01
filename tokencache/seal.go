package tokencache

import (
	"errors"
	"fmt"

	"github.com/consentry/consentry/tokencache/seal"
)

// Blobs written with a key are sealed by package seal (format version 1,
// AES-256-GCM) for domain sealDomain, with the partition key as the
// additional data: a blob opens only under the partition it was written for,
// and its key id cannot be altered. Plaintext blobs (only ever held by an
// InProcess store) are MSAL's JSON as is and start with '{'.
const (
	sealDomain = "consentry/tokencache/v1\x00"
	// KeySize is the length in bytes of an encryption key (AES-256).
	KeySize = seal.KeySize
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

// blobErrs maps package seal's errors to this package's.
var blobErrs = map[error]error{seal.ErrUnknownKey: ErrUnknownKey, seal.ErrDecrypt: ErrDecrypt, seal.ErrMalformed: ErrMalformed}

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

// keyring is the Cache's seal.Keyring; its zero value has no keys.
type keyring struct{ ring *seal.Keyring }

func (k *keyring) add(id string, key []byte) error {
	if k.ring == nil {
		k.ring = seal.NewKeyring(sealDomain)
	}
	if err := k.ring.Add(id, key); err != nil {
		return fmt.Errorf("tokencache: %w", err)
	}
	return nil
}

func (k *keyring) enabled() bool { return !k.ring.Empty() }

// seal encrypts plain for partition with the current key, appending to
// dst[:0]. Without keys it returns plain itself.
func (k *keyring) seal(dst []byte, partition string, plain []byte) ([]byte, error) {
	if !k.enabled() {
		return plain, nil
	}
	blob, err := k.ring.Seal(dst, plain, partition)
	if err != nil {
		return nil, fmt.Errorf("tokencache: %w", err)
	}
	return blob, nil
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
	plain, id, err := k.ring.Open(dst, blob, partition)
	if err != nil {
		return nil, &BlobError{Partition: partition, KeyID: id, Err: blobErrs[err]}
	}
	return plain, nil
}
