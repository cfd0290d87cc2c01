package redisstore

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// reply is a Redis error reply.
type reply string

func (r reply) Error() string { return string(r) }
func (reply) RedisError()     {}

func TestFailClassifiesErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name        string
		ctx         context.Context
		err         error
		unavailable bool
	}{
		{"connection refused", context.Background(), &net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{"deadline", context.Background(), context.DeadlineExceeded, true},
		{"loading", context.Background(), reply("LOADING Redis is loading the dataset in memory"), true},
		{"read-only replica after failover", context.Background(), reply("READONLY You can't write against a read only replica."), true},
		{"master down", context.Background(), reply("MASTERDOWN Link with MASTER is down"), true},
		{"cluster down", context.Background(), reply("CLUSTERDOWN The cluster is down"), true},
		{"wrong type", context.Background(), reply("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
		{"caller canceled", canceled, context.Canceled, false},
	}
	s := New(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.fail(tt.ctx, "get", tt.err)
			if errors.Is(got, ErrUnavailable) != tt.unavailable || !errors.Is(got, tt.err) {
				t.Fatalf("fail(%v) = %v; want unavailable=%v, wrapping the cause", tt.err, got, tt.unavailable)
			}
		})
	}
}

func TestRedisTTL(t *testing.T) {
	tests := []struct{ in, want time.Duration }{
		{0, 0},
		{-time.Second, 0},
		{time.Nanosecond, time.Millisecond},
		{time.Millisecond, time.Millisecond},
		{time.Hour + 10*time.Microsecond, time.Hour + time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.in.String(), func(t *testing.T) {
			if got := redisTTL(tt.in); got != tt.want {
				t.Fatalf("redisTTL(%v) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
}
