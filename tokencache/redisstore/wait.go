package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// WithWait makes every write (Set, Delete, CompareAndSwap) wait until at
// least replicas replicas of the key's primary have acknowledged it (Redis
// WAIT, on the connection of the write, in the same round trip), for at
// most timeout and never past the caller's deadline. A write that fewer
// replicas acknowledged fails with an error wrapping ErrUnavailable (it is
// tried again within the deadline first): the primary has it, but a
// failover could lose it.
//
// Redis replicates asynchronously: without WithWait (the default) a primary
// that crashes may take the last writes it acknowledged with it, such as the
// refresh token of a user who has just consented. With WithWait(1, ...) a
// write that succeeded survives the loss of its primary, at the cost of
// failing writes while the primary has no replica in sync: run two replicas
// per primary to keep writes available through one replica's loss. It works
// with a single node, Sentinel and Cluster clients, not with a Ring.
//
// A CompareAndSwap tried again because no replica acknowledged its write in
// time finds its own value and reports swapped=false, as if another writer
// had won; tokencache.Cache then reads the partition again and finds its
// tokens there.
func WithWait(replicas int, timeout time.Duration) Option {
	return func(s *Store) { s.replicas, s.waitFor = replicas, timeout }
}

// notReplicatedError is a write that fewer replicas acknowledged than
// WithWait asks.
type notReplicatedError struct {
	acked, want int64
	timeout     time.Duration
}

func (e *notReplicatedError) Error() string {
	return fmt.Sprintf("written to the primary but acknowledged by %d of %d replicas within %v (WithWait): a failover could lose it",
		e.acked, e.want, e.timeout)
}

// write runs the write command that queue builds on key and, with WithWait,
// a WAIT behind it in one pipeline on the connection of key's primary.
func (s *Store) write(ctx context.Context, key string, queue func(redis.Cmdable) redis.Cmder) error {
	if s.replicas <= 0 {
		return queue(s.rdb).Err()
	}
	var node redis.Cmdable = s.rdb
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		c, err := cc.MasterForKey(ctx, key) // WAIT has no key: it must follow the write on its node
		if err != nil {
			return err
		}
		node = c
	}
	timeout := s.waitTimeout(ctx)
	var cmd redis.Cmder
	var wait *redis.IntCmd
	_, err := node.Pipelined(ctx, func(p redis.Pipeliner) error {
		cmd = queue(p)
		if w, ok := p.(waiter); ok {
			wait = w.Wait(ctx, s.replicas, timeout) // also extends the read deadline by timeout
		} else {
			wait = redis.NewIntCmd(ctx, "wait", s.replicas, timeout.Milliseconds())
			_ = p.Process(ctx, wait)
		}
		return nil
	})
	if cmd.Err() != nil {
		return cmd.Err()
	}
	if err != nil {
		return err
	}
	if n := wait.Val(); n < int64(s.replicas) {
		return &notReplicatedError{acked: n, want: int64(s.replicas), timeout: timeout}
	}
	return nil
}

// waiter is go-redis's Pipeline, whose WAIT the Pipeliner interface does
// not declare.
type waiter interface {
	Wait(ctx context.Context, numSlaves int, timeout time.Duration) *redis.IntCmd
}

// waitTimeout is WithWait's timeout, cut to what is left of ctx's deadline,
// and at least a millisecond (WAIT 0 would wait for ever).
func (s *Store) waitTimeout(ctx context.Context) time.Duration {
	d := s.waitFor
	if deadline, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(deadline))
	}
	return max(d.Truncate(time.Millisecond), time.Millisecond)
}
