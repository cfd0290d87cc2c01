package tokencache

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// load returns the plaintext of partition key (nil if absent) and the raw
// stored blob, in sc's buffers when it can. When the blob does not open,
// raw is returned with the *BlobError.
func (c *Cache) load(ctx context.Context, key string, sc *scratch) (plain, raw []byte, err error) {
	if key == "" {
		return nil, nil, nil
	}
	raw, found, err := c.get(ctx, key, sc.raw)
	if err != nil {
		return nil, nil, fmt.Errorf("tokencache: load partition %q: %w", key, err)
	}
	if !found {
		return nil, nil, nil
	}
	keep(&sc.raw, raw)
	plain, err = c.cfg.keys.open(key, raw, sc.plain)
	if err != nil {
		return nil, raw, fmt.Errorf("tokencache: load partition %q: %w", key, err)
	}
	if c.cfg.keys.enabled() {
		keep(&sc.plain, plain)
	}
	return plain, raw, nil
}

// get reads key from the store, into dst for a MemoryStore.
func (c *Cache) get(ctx context.Context, key string, dst []byte) ([]byte, bool, error) {
	if m, ok := c.store.(*MemoryStore); ok {
		return m.getAppend(ctx, key, dst)
	}
	return c.store.Get(ctx, key)
}

// saveOnLoaded writes MSAL's JSON plain as it is, with one compare-and-swap
// against the blob m was loaded from by Replace, if the store can, m is
// known and plain holds no expired access token. done=false means the store
// changed since (or nothing is known, or there is something to drop): merge
// instead.
func (c *Cache) saveOnLoaded(ctx context.Context, m any, key string, plain []byte) (bool, error) {
	if c.cas == nil {
		return false, nil
	}
	sc := getScratch()
	defer putScratch(sc)
	raw, ok := c.seen.lookup(m, key, sc.old)
	if !ok {
		return false, nil
	}
	keep(&sc.old, raw)
	now := c.cfg.now()
	info, err := summarize(plain, now)
	if err != nil || info.expired {
		return false, nil // the merge path reports or drops it
	}
	blob, err := c.cfg.keys.seal(sc.sealed, key, plain)
	if err != nil {
		return false, err
	}
	if c.cfg.keys.enabled() { // without keys blob is MSAL's own buffer
		keep(&sc.sealed, blob)
	}
	ttl := partitionTTL(info.refresh, info.atExpiry, now, c.cfg.rtTTL)
	done, err := c.write(ctx, key, raw, blob, ttl)
	if done {
		c.seen.remember(m, key, blob)
	}
	return done, err
}

// save merges ours with the stored partition and writes the result, retrying
// on a lost compare-and-swap.
func (c *Cache) save(ctx context.Context, key string, ours msalDoc) error {
	for range maxSwaps {
		done, err := c.saveOnce(ctx, key, ours)
		if done || err != nil {
			return err
		}
	}
	return fmt.Errorf("tokencache: export partition %q: %w (%d attempts)", key, ErrConflict, maxSwaps)
}

func (c *Cache) saveOnce(ctx context.Context, key string, ours msalDoc) (bool, error) {
	sc := getScratch()
	defer putScratch(sc)
	theirsPlain, raw, err := c.load(ctx, key, sc)
	if be, ok := corrupt(err); ok {
		c.bad.report(ctx, c.cfg.log, be, raw)
		err = nil // write ours over it (compare-and-swap against raw)
	}
	if err != nil {
		return false, err
	}
	merged := ours
	if theirsPlain != nil {
		theirs, err := parseDoc(theirsPlain)
		if err != nil {
			return false, fmt.Errorf("tokencache: export partition %q: stored %w", key, err)
		}
		merged = merge(cloneDoc(ours), theirs)
	}
	blob, ttl, err := c.encode(key, merged)
	if err != nil {
		return false, err
	}
	return c.write(ctx, key, raw, blob, ttl)
}

// encode drops expired access tokens from d, and returns d sealed and its
// TTL.
func (c *Cache) encode(key string, d msalDoc) ([]byte, time.Duration, error) {
	now := c.cfg.now()
	atExpiry := dropExpired(d, now)
	blob, err := c.cfg.keys.seal(nil, key, d.marshal())
	if err != nil {
		return nil, 0, err
	}
	return blob, partitionTTL(len(d[sectionRefreshToken]) > 0, atExpiry, now, c.cfg.rtTTL), nil
}

// write stores blob, as a compare-and-swap against old when the store can.
func (c *Cache) write(ctx context.Context, key string, old, blob []byte, ttl time.Duration) (bool, error) {
	if c.cas == nil {
		if err := c.store.Set(ctx, key, blob, ttl); err != nil {
			return false, fmt.Errorf("tokencache: export partition %q: %w", key, err)
		}
		return true, nil
	}
	ok, err := c.cas.CompareAndSwap(ctx, key, old, blob, ttl)
	if err != nil {
		return false, fmt.Errorf("tokencache: export partition %q: %w", key, err)
	}
	return ok, nil
}

func cloneDoc(d msalDoc) msalDoc {
	out := make(msalDoc, len(d))
	for name, sec := range d {
		s := make(map[string]json.RawMessage, len(sec))
		for k, v := range sec {
			s[k] = v
		}
		out[name] = s
	}
	return out
}
