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
	rdb      redis.UniversalClient
	prefix   string
	failover bool // rdb is a cluster or Sentinel client: a failover heals lost connections
	replicas int  // WithWait
	waitFor  time.Duration
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
//
// Within the deadline of the caller's context (tokencache.Cache always sets
// one), a call that Redis answers with CLUSTERDOWN, TRYAGAIN, MOVED or ASK
// (beyond go-redis's own redirections), LOADING, READONLY, MASTERDOWN or
// NOREPLICAS is tried again with a growing backoff, and so is one that could
// not reach a node of a Cluster or Sentinel setup: a failover ends these.
// A single node that cannot be reached fails at once with ErrUnavailable.
func New(rdb redis.UniversalClient, opts ...Option) *Store {
	s := &Store{rdb: rdb, prefix: DefaultPrefix, failover: canFailOver(rdb)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Get implements tokencache.Store with one GET.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	var v []byte
	err := s.do(ctx, func() (err error) {
		v, err = s.rdb.Get(ctx, s.prefix+key).Bytes()
		return err
	})
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

// Set implements tokencache.Store with one SET (with PX when ttl > 0),
// followed by WAIT with WithWait. TTLs are rounded up to a whole millisecond.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	err := s.do(ctx, func() error {
		return s.write(ctx, s.prefix+key, func(c redis.Cmdable) redis.Cmder {
			return c.Set(ctx, s.prefix+key, value, redisTTL(ttl))
		})
	})
	if err != nil {
		return s.fail(ctx, "set", err)
	}
	return nil
}

// Delete implements tokencache.Store with one DEL, followed by WAIT with
// WithWait.
func (s *Store) Delete(ctx context.Context, key string) error {
	err := s.do(ctx, func() error {
		return s.write(ctx, s.prefix+key, func(c redis.Cmdable) redis.Cmder { return c.Del(ctx, s.prefix+key) })
	})
	if err != nil {
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
// a Lua script on the one key (plus one EVAL the first time a server sees
// the script), followed by WAIT with WithWait.
func (s *Store) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	present := "1"
	if old == nil {
		present = "0"
	}
	ms := int64(0)
	if ttl > 0 {
		ms = redisTTL(ttl).Milliseconds()
	}
	keys, args := []string{s.prefix + key}, []any{present, old, value, ms}
	var swapped bool
	err := s.do(ctx, func() error {
		var cmd redis.Cmder
		err := s.write(ctx, keys[0], func(c redis.Cmdable) redis.Cmder {
			cmd = casScript.EvalSha(ctx, c, keys, args...)
			return cmd
		})
		if redis.HasErrorPrefix(err, "NOSCRIPT") {
			err = s.write(ctx, keys[0], func(c redis.Cmdable) redis.Cmder {
				cmd = casScript.Eval(ctx, c, keys, args...)
				return cmd
			})
		}
		if err == nil {
			n, _ := cmd.(*redis.Cmd).Int()
			swapped = n == 1
		}
		return err
	})
	if err != nil {
		return false, s.fail(ctx, "compare-and-swap", err)
	}
	return swapped, nil
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
	return fmt.Errorf("tokencache/redisstore: %s: Redis unavailable: %w: %w", op, ErrUnavailable, err)
}

func isReply(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr)
}

func notServing(err error) bool {
	return redis.IsLoadingError(err) || redis.IsReadOnlyError(err) || redis.IsMasterDownError(err) ||
		redis.IsClusterDownError(err) || redis.IsTryAgainError(err) || redis.IsMaxClientsError(err) ||
		redis.IsNoReplicasError(err) || isRedirect(err)
}

// isRedirect reports a MOVED or ASK reply that reached the Store: a slot
// that moved while a WAIT pipeline went to the node of its old owner.
func isRedirect(err error) bool {
	return redis.HasErrorPrefix(err, "MOVED") || redis.HasErrorPrefix(err, "ASK")
}

// redisTTL rounds a positive ttl up to whole milliseconds; <= 0 is no expiry.
func redisTTL(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return 0
	}
	return (ttl + time.Millisecond - 1).Truncate(time.Millisecond)
}
