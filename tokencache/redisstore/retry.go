package redisstore

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"
)

// Backoff between two attempts of one call: retryBase, doubling up to
// retryMax, each less up to a quarter of jitter so that replicas spread out.
const (
	retryBase = 10 * time.Millisecond
	retryMax  = 500 * time.Millisecond
)

// do calls fn, and again after a backoff while it fails with an error that
// a failover ends (retryable) and ctx's deadline leaves room for the
// backoff. Without a deadline fn is called once. It returns fn's last error.
func (s *Store) do(ctx context.Context, fn func() error) error {
	err := fn()
	for i := 0; err != nil && s.retryable(err); i++ {
		d := backoff(i)
		if deadline, ok := ctx.Deadline(); !ok || time.Until(deadline) <= d {
			return err
		}
		if cc, ok := s.rdb.(*redis.ClusterClient); ok {
			cc.ReloadState(ctx) // learn a promoted replica's address
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		err = fn()
	}
	return err
}

// retryable reports whether err may end with a failover: a reply saying
// Redis is not serving now, a write not yet replicated (WithWait), or, on a
// Cluster or Sentinel client, a node that could not be reached.
func (s *Store) retryable(err error) bool {
	if errors.Is(err, redis.Nil) || errors.Is(err, redis.ErrClosed) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if isReply(err) {
		return notServing(err)
	}
	var nr *notReplicatedError
	return errors.As(err, &nr) || s.failover
}

func backoff(i int) time.Duration {
	d := min(retryBase<<min(i, 10), retryMax)
	return d - rand.N(d/4+1)
}

// canFailOver reports whether rdb follows a failover: a cluster client, or
// a Sentinel client (go-redis's NewFailoverClient names its address
// "FailoverClient").
func canFailOver(rdb redis.UniversalClient) bool {
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return true
	case *redis.Client:
		return c != nil && c.Options().Addr == "FailoverClient"
	}
	return false
}
