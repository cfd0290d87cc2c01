package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/consentry/consentry/tokencache"
	"github.com/redis/go-redis/v9"
)

// DefaultPrefix is the key prefix used when WithPrefix is not given.
const DefaultPrefix = "tokencache:"

// ErrUnavailable is tokencache.ErrUnavailable, wrapped by every error that
// means Redis could not be reached (connection refused or lost, timeout, pool
// exhausted). Redis coming back needs no restart: the next call reconnects.
var ErrUnavailable = tokencache.ErrUnavailable

// Store is a tokencache.Store on Redis. Each Get, Set, Delete and
// CompareAndSwap is one round trip. Create it with New.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

var (
	_ tokencache.Store             = (*Store)(nil)
	_ tokencache.CompareAndSwapper = (*Store)(nil)
)

// Option configures a Store.
type Option func(*Store)

// WithPrefix sets the prefix of every Redis key (default DefaultPrefix), so
// several apps can share one Redis database.
func WithPrefix(p string) Option { return func(s *Store) { s.prefix = p } }

// New returns a Store on rdb: a *redis.Client, *redis.ClusterClient,
// Sentinel failover client or *redis.Ring. The Store does not close rdb.
func New(rdb redis.UniversalClient, opts ...Option) *Store {
	s := &Store{rdb: rdb, prefix: DefaultPrefix}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Get implements tokencache.Store with one GET.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := s.rdb.Get(ctx, s.prefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, s.fail(ctx, "get", err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}

// Set implements tokencache.Store with one SET (with PX when ttl > 0).
// TTLs are rounded up to a whole millisecond.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := s.rdb.Set(ctx, s.prefix+key, value, redisTTL(ttl)).Err(); err != nil {
		return s.fail(ctx, "set", err)
	}
	return nil
}

// Delete implements tokencache.Store with one DEL.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.rdb.Del(ctx, s.prefix+key).Err(); err != nil {
		return s.fail(ctx, "delete", err)
	}
	return nil
}

// casScript sets KEYS[1] to ARGV[3] (PX ARGV[4] if > 0) if its value equals
// ARGV[2], or if ARGV[1] is "0", if it is absent.
var casScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if cur then return 0 end
elseif cur ~= ARGV[2] then
  return 0
end
if tonumber(ARGV[4]) > 0 then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[3])
end
return 1
`)

// CompareAndSwap implements tokencache.CompareAndSwapper with one EVALSHA of
// a Lua script (plus one EVAL the first time a server sees the script).
func (s *Store) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	present := "1"
	if old == nil {
		present = "0"
	}
	ms := int64(0)
	if ttl > 0 {
		ms = redisTTL(ttl).Milliseconds()
	}
	n, err := casScript.Run(ctx, s.rdb, []string{s.prefix + key}, present, old, value, ms).Int()
	if err != nil {
		return false, s.fail(ctx, "compare-and-swap", err)
	}
	return n == 1, nil
}

// fail wraps err, adding ErrUnavailable when Redis could not serve the call:
// a network error or timeout, or a reply saying it is not serving now
// (LOADING, READONLY after a failover, MASTERDOWN, CLUSTERDOWN, TRYAGAIN, max
// clients). Other replies (a wrong type, a script error) and a context the
// caller canceled are wrapped as they are.
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) || (isReply(err) && !notServing(err)) {
		return fmt.Errorf("tokencache/redisstore: %s: %w", op, err)
	}
	return fmt.Errorf("tokencache/redisstore: %s: Redis unreachable: %w: %w", op, ErrUnavailable, err)
}

func isReply(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr)
}

func notServing(err error) bool {
	return redis.IsLoadingError(err) || redis.IsReadOnlyError(err) || redis.IsMasterDownError(err) ||
		redis.IsClusterDownError(err) || redis.IsTryAgainError(err) || redis.IsMaxClientsError(err)
}

// redisTTL rounds a positive ttl up to whole milliseconds; <= 0 is no expiry.
func redisTTL(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return 0
	}
	return (ttl + time.Millisecond - 1).Truncate(time.Millisecond)
}
