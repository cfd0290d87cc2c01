package tokencache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
)

// ErrKeyRequired is returned by New when the Store keeps data outside the
// process (it does not implement InProcess) and no key was given with WithKey.
var ErrKeyRequired = errors.New("tokencache: an encryption key (WithKey) is required for a store outside process memory")

// ErrConflict is returned by Export when other writers kept changing the
// partition through every compare-and-swap attempt.
var ErrConflict = errors.New("tokencache: partition kept changing during export")

// maxSwaps bounds the optimistic-concurrency retries of one Export.
const maxSwaps = 16

var emptyCache = []byte("{}")

// Cache is an MSAL Go cache.ExportReplace that keeps each partition (one per
// user, one per app token cache) as one entry of a Store, encrypted when keys
// are configured. It is safe for concurrent use and may be shared by any
// number of MSAL clients. Create it with New.
type Cache struct {
	store Store
	cas   CompareAndSwapper // nil if the store lacks the capability
	cfg   config
	seen  recall
	bad   incidents
}

var _ cache.ExportReplace = (*Cache)(nil)

// New returns a Cache over store; a nil store means a new MemoryStore with
// default bounds. It fails if an option is invalid, or if store is not
// InProcess and no key was given (refresh tokens never leave the process in
// plaintext): errors.Is(err, ErrKeyRequired).
func New(store Store, opts ...Option) (*Cache, error) {
	if store == nil {
		store = NewMemoryStore()
	}
	c := &Cache{store: store, cfg: config{timeout: DefaultTimeout, rtTTL: DefaultRefreshTokenTTL, now: time.Now, log: slog.Default()}}
	for _, o := range opts {
		if err := o(&c.cfg); err != nil {
			return nil, err
		}
	}
	if !c.cfg.keys.enabled() && !isInProcess(store) {
		return nil, fmt.Errorf("%w (store %T)", ErrKeyRequired, store)
	}
	c.cas, _ = store.(CompareAndSwapper)
	return c, nil
}

// Store returns the Store the Cache writes to.
func (c *Cache) Store() Store { return c.store }

// Replace implements cache.ExportReplace. It loads the partition
// hints.PartitionKey into MSAL's in-memory cache, replacing all of it; a
// missing partition (or the empty partition key, which MSAL uses for
// account-wide calls) loads an empty cache, so no other user's tokens remain.
// A corrupt partition (BlobError.Corrupt) loads an empty cache too, is
// logged once, and is replaced by the next Export of this MSAL cache: so a
// user whose entry was damaged is asked to sign in, and the sign-in
// (Replace then Export) writes a working entry. On error the in-memory
// cache is emptied as well and the error says why: ErrUnavailable from the
// store, a *BlobError wrapping ErrUnknownKey for a blob sealed with a key
// this Cache does not hold. The bytes given to u.Unmarshal are reused after
// it returns (MSAL's cache copies what it keeps).
func (c *Cache) Replace(ctx context.Context, u cache.Unmarshaler, hints cache.ReplaceHints) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	sc := getScratch()
	defer putScratch(sc)
	plain, raw, err := c.load(ctx, hints.PartitionKey, sc)
	if be, ok := corrupt(err); ok {
		c.bad.report(ctx, c.cfg.log, be, raw)
		err = nil // plain is nil: an empty cache, remembered as loaded from raw
	}
	data := plain
	if err == nil && data == nil {
		data = emptyCache
	}
	if err == nil {
		if uerr := u.Unmarshal(data); uerr != nil {
			err = fmt.Errorf("tokencache: replace partition %q: %w", hints.PartitionKey, uerr)
		}
	}
	if err != nil {
		c.seen.forget(u)
		_ = u.Unmarshal(emptyCache)
		return err
	}
	c.seen.remember(u, hints.PartitionKey, raw)
	return nil
}

// Export implements cache.ExportReplace. It writes MSAL's cache to the
// partition hints.PartitionKey with a TTL following its longest-lived token,
// merged with whatever another writer stored there since (union of entries,
// MSAL's own newest entry wins), so concurrent writers lose no refresh token.
// With a CompareAndSwapper store the write is retried until no other write
// intervened; when nothing changed since this MSAL cache's Replace, that is a
// single compare-and-swap. The empty partition key is not stored.
func (c *Cache) Export(ctx context.Context, m cache.Marshaler, hints cache.ExportHints) error {
	key := hints.PartitionKey
	if key == "" {
		return nil
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	plain, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("tokencache: export partition %q: marshal: %w", key, err)
	}
	if done, err := c.saveOnLoaded(ctx, m, key, plain); done || err != nil {
		return err
	}
	c.seen.forget(m)
	ours, err := parseDoc(plain)
	if err != nil {
		return fmt.Errorf("tokencache: export partition %q: %w", key, err)
	}
	return c.save(ctx, key, ours)
}

// Remove deletes the partition partitionKey, for sign-out: MSAL's
// RemoveAccount cannot reach a partitioned cache. For a user the key is the
// MSAL account's HomeAccountID. A missing partition is not an error; an
// empty partition key is.
func (c *Cache) Remove(ctx context.Context, partitionKey string) error {
	if partitionKey == "" {
		return errors.New("tokencache: remove: empty partition key")
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	if err := c.store.Delete(ctx, partitionKey); err != nil {
		return fmt.Errorf("tokencache: remove partition %q: %w", partitionKey, err)
	}
	return nil
}

func (c *Cache) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.cfg.timeout)
}
