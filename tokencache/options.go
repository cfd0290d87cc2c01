package tokencache

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults for the options of New.
const (
	// DefaultTimeout bounds each Replace, Export and Remove whose context has
	// no deadline.
	DefaultTimeout = 5 * time.Second
	// DefaultRefreshTokenTTL is how long a partition holding a refresh token
	// is kept after its last write. Entra ID refresh tokens live up to 90
	// days; MSAL's cache JSON records no expiry for them.
	DefaultRefreshTokenTTL = 90 * 24 * time.Hour
)

// Option configures a Cache.
type Option func(*config) error

type config struct {
	keys    keyring
	timeout time.Duration
	rtTTL   time.Duration
	now     func() time.Time
	log     *slog.Logger
}

// WithKey adds an AES-256 key (32 bytes) under a key id (1 to 255 bytes,
// stored in clear in each blob). The first WithKey is the current key: every
// blob is written with it. Keys given after it are old keys, still used to
// open blobs written with them, which are rewritten with the current key on
// their next write. To rotate, put the new key first and keep the old one
// after it until the longest partition TTL has passed.
//
// A Cache over a Store that is not InProcess (such as Redis) requires a key.
func WithKey(id string, key []byte) Option {
	return func(c *config) error { return c.keys.add(id, key) }
}

// WithTimeout sets the timeout applied to each call whose context has no
// deadline (default DefaultTimeout). d must be positive.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("tokencache: timeout must be positive, got %v", d)
		}
		c.timeout = d
		return nil
	}
}

// WithRefreshTokenTTL sets how long a partition holding a refresh token is
// kept after its last write (default DefaultRefreshTokenTTL). Match it to the
// refresh token lifetime of your tenant. d must be positive.
func WithRefreshTokenTTL(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("tokencache: refresh token TTL must be positive, got %v", d)
		}
		c.rtTTL = d
		return nil
	}
}

// WithClock sets the clock used to compute partition TTLs and drop expired
// access tokens (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("tokencache: clock must not be nil")
		}
		c.now = now
		return nil
	}
}

// WithLogger sets the logger for incidents the Cache handles itself, such as
// a corrupt partition replaced on the next write (see BlobError.Corrupt),
// logged once per corrupt blob at level Error (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("tokencache: logger must not be nil")
		}
		c.log = l
		return nil
	}
}
