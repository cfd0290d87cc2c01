package tokencache

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"sync"
)

// Corrupt reports whether the blob is damaged rather than sealed with a key
// this Cache does not hold: it failed authentication (ErrDecrypt: a bit
// flip, a truncation, an entry copied from another partition) or is not a
// sealed blob at all (ErrMalformed, a plaintext entry included). A Cache
// treats a corrupt partition as empty and replaces it on the next write: a
// user who signs in again gets a working session. A blob sealed with an
// unknown key id (ErrUnknownKey) is not corrupt: during a key rotation it is
// another replica's good entry, so it stays an error and is never
// overwritten.
//
// A key id must name the same key on every replica: under the same id,
// another key fails authentication like a damaged blob, and replicas with
// different keys under one id replace each other's entries at every
// sign-in. The same holds for two apps sharing a store (one Redis with the
// same key prefix): a user's partition key is their home account id in
// both, so such apps must hold the same keys or use distinct prefixes. A blob whose key id
// bytes were damaged reads as an unknown key and stays until it expires or
// the user signs out (Remove).
func (e *BlobError) Corrupt() bool {
	return errors.Is(e.Err, ErrDecrypt) || errors.Is(e.Err, ErrMalformed)
}

// corrupt returns err's *BlobError if it reports a corrupt blob.
func corrupt(err error) (*BlobError, bool) {
	var be *BlobError
	if errors.As(err, &be) && be.Corrupt() {
		return be, true
	}
	return nil, false
}

// maxIncidents bounds the corrupt blobs a Cache remembers having logged.
const maxIncidents = 1024

// incidents logs each corrupt blob once, however often it is read.
type incidents struct {
	mu     sync.Mutex
	logged map[[sha256.Size]byte]struct{}
}

// report logs be, found as raw in its partition, unless it was logged
// already. It logs no byte of the blob.
func (in *incidents) report(ctx context.Context, log *slog.Logger, be *BlobError, raw []byte) {
	h := sha256.New()
	h.Write([]byte(be.Partition))
	h.Write([]byte{0})
	h.Write(raw)
	var id [sha256.Size]byte
	h.Sum(id[:0])
	in.mu.Lock()
	_, seen := in.logged[id]
	if !seen {
		if in.logged == nil || len(in.logged) >= maxIncidents {
			in.logged = map[[sha256.Size]byte]struct{}{}
		}
		in.logged[id] = struct{}{}
	}
	in.mu.Unlock()
	if !seen {
		log.ErrorContext(ctx, "tokencache: corrupt token cache entry, treated as empty; the user's next sign-in replaces it",
			"partition", be.Partition, "key_id", be.KeyID, "reason", be.Err.Error(), "bytes", len(raw))
	}
}
