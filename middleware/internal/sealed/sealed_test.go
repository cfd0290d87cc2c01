package sealed

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

type memKV struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (k *memKV) Get(_ context.Context, key string) ([]byte, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[key]
	return v, ok, nil
}

func (k *memKV) Set(_ context.Context, key string, v []byte, _ time.Duration) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m[key] = v
	return nil
}

func (k *memKV) Delete(_ context.Context, key string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, key)
	return nil
}

type rec struct{ N int }

func TestBox(t *testing.T) {
	now := time.Unix(1000, 0)
	kv := &memKV{m: map[string][]byte{}}
	secret := [][]byte{[]byte("0123456789abcdef0123456789abcdef")}
	b, err := New(kv, secret, "test", "p:", func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name    string
		ttl     time.Duration
		advance time.Duration
		want    bool
	}{
		{"fresh", time.Minute, 0, true},
		{"no expiry", 0, 24 * time.Hour, true},
		{"expired", time.Minute, 2 * time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := b.Put(ctx, tt.name, rec{N: 7}, tt.ttl); err != nil {
				t.Fatal(err)
			}
			now = now.Add(tt.advance)
			var r rec
			found, err := b.Take(ctx, tt.name, &r)
			if err != nil || found != tt.want || (found && r.N != 7) {
				t.Fatalf("Take = %v %v %+v, want %v", found, err, r, tt.want)
			}
			if found, _ := b.Take(ctx, tt.name, &r); found {
				t.Error("second Take found the record")
			}
		})
	}
}

func TestBoxRejectsMovedAndForeign(t *testing.T) {
	kv := &memKV{m: map[string][]byte{}}
	now := func() time.Time { return time.Unix(1000, 0) }
	b, _ := New(kv, [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, "a", "p:", now)
	other, _ := New(kv, [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, "b", "p:", now)
	ctx := context.Background()
	_ = b.Put(ctx, "x", rec{1}, 0)
	kv.m[b.Key("y")] = kv.m[b.Key("x")]
	var r rec
	if found, _ := b.Get(ctx, "y", &r); found {
		t.Error("a record moved to another key opened")
	}
	if found, _ := other.Get(ctx, "x", &r); found {
		t.Error("a record opened under another label")
	}
	if found, _ := b.Get(ctx, "x", &r); !found {
		t.Error("the record itself did not open")
	}
}

// casFailDeleteKV is memKV with CompareAndSwap and a Delete that always fails.
type casFailDeleteKV struct{ memKV }

func (k *casFailDeleteKV) Delete(context.Context, string) error {
	return errors.New("store: delete failed")
}

func (k *casFailDeleteKV) CompareAndSwap(_ context.Context, key string, old, v []byte, _ time.Duration) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if cur, ok := k.m[key]; !ok || string(cur) != string(old) {
		return false, nil
	}
	k.m[key] = v
	return true, nil
}

// TestTakeSurvivesFailedDeleteAfterClaim: once the compare-and-swap has
// claimed the record, a failing Delete does not fail the Take, and the
// record cannot be taken again.
func TestTakeSurvivesFailedDeleteAfterClaim(t *testing.T) {
	ctx := context.Background()
	kv := &casFailDeleteKV{memKV{m: map[string][]byte{}}}
	b, err := New(kv, [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, "t", "p:", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "id", rec{N: 7}, time.Minute); err != nil {
		t.Fatal(err)
	}
	var r rec
	if found, err := b.Take(ctx, "id", &r); !found || err != nil || r.N != 7 {
		t.Fatalf("Take = %v, %v, %+v; want the record", found, err, r)
	}
	if found, err := b.Take(ctx, "id", &r); found || err != nil {
		t.Fatalf("second Take = %v, %v; want not found", found, err)
	}
}

// deadlineKV records, for each call, whether its context had a deadline.
type deadlineKV struct {
	memKV
	calls, unbounded int
}

func (k *deadlineKV) note(ctx context.Context) {
	k.calls++
	if _, ok := ctx.Deadline(); !ok {
		k.unbounded++
	}
}

func (k *deadlineKV) Get(ctx context.Context, key string) ([]byte, bool, error) {
	k.note(ctx)
	return k.memKV.Get(ctx, key)
}

func (k *deadlineKV) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	k.note(ctx)
	return k.memKV.Set(ctx, key, v, ttl)
}

func (k *deadlineKV) Delete(ctx context.Context, key string) error {
	k.note(ctx)
	return k.memKV.Delete(ctx, key)
}

// TestStoreCallsHaveADeadline: a request's context has no deadline; the Box
// gives each store call one, so a store retrying through a Redis failover has
// a deadline to retry within and a hung store cannot hold a request forever.
func TestStoreCallsHaveADeadline(t *testing.T) {
	kv := &deadlineKV{memKV: memKV{m: map[string][]byte{}}}
	b, err := New(kv, [][]byte{make([]byte, 32)}, "test", "t:", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var v string
	if err := b.Put(ctx, "id", "value", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "id", &v); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Take(ctx, "id", &v); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "id"); err != nil {
		t.Fatal(err)
	}
	if kv.calls < 4 || kv.unbounded != 0 {
		t.Errorf("%d of %d store calls without a deadline; want none", kv.unbounded, kv.calls)
	}
}
