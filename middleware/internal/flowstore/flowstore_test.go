package flowstore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"
)

type mapKV struct {
	mu sync.Mutex
	m  map[string][]byte
	e  error
}

func (k *mapKV) Get(_ context.Context, key string) ([]byte, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[key]
	return v, ok, k.e
}

func (k *mapKV) Set(_ context.Context, key string, v []byte, _ time.Duration) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m[key] = v
	return k.e
}

func (k *mapKV) Delete(_ context.Context, key string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, key)
	return k.e
}

func TestPutTake(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	kv := &mapKV{m: map[string][]byte{}}
	s, err := New(kv, [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, 10*time.Minute, clock)
	if err != nil {
		t.Fatal(err)
	}
	f := &Flow{State: "st", Nonce: "n", Verifier: "v", Scopes: []string{"Mail.Read"}, ReturnURL: "/mail?x=1", Created: now, SID: "sid"}
	if err := s.Put(ctx, f); err != nil {
		t.Fatal(err)
	}
	for k, v := range kv.m {
		if string(v) == "" || k != Prefix+ID("st") {
			t.Fatalf("unexpected entry %q", k)
		}
	}
	got, err := s.Take(ctx, "st")
	if err != nil || got.Nonce != "n" || got.ReturnURL != "/mail?x=1" || got.State != "st" {
		t.Fatalf("Take = %+v, %v", got, err)
	}
	if _, err := s.Take(ctx, "st"); !errors.Is(err, ErrNotFound) {
		t.Errorf("replay: %v, want ErrNotFound", err)
	}
	if _, err := s.Take(ctx, "forged"); !errors.Is(err, ErrNotFound) {
		t.Errorf("forged: %v, want ErrNotFound", err)
	}

	// Expiry by the injected clock.
	f.State = "st2"
	_ = s.Put(ctx, f)
	now = now.Add(11 * time.Minute)
	if _, err := s.Take(ctx, "st2"); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: %v, want ErrExpired", err)
	}

	// Another replica with the same keys opens it; other keys do not; rotation works.
	f.State, f.Created = "st3", now
	_ = s.Put(ctx, f)
	other, _ := New(kv, [][]byte{[]byte("another key......................")}, 10*time.Minute, clock)
	if _, err := other.Take(ctx, "st3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("wrong key: %v, want ErrNotFound", err)
	}
	f.State = "st4"
	_ = s.Put(ctx, f)
	rotated, _ := New(kv, [][]byte{[]byte("new key"), []byte("0123456789abcdef0123456789abcdef")}, 10*time.Minute, clock)
	if _, err := rotated.Take(ctx, "st4"); err != nil {
		t.Errorf("rotated keys: %v", err)
	}
}

func TestStoreFailure(t *testing.T) {
	kv := &mapKV{m: map[string][]byte{}, e: errors.New("down")}
	s, _ := New(kv, [][]byte{[]byte("k")}, time.Minute, time.Now)
	if err := s.Put(context.Background(), &Flow{State: "s"}); err == nil {
		t.Error("Put succeeded with failing store")
	}
	if _, err := s.Take(context.Background(), "s"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Take = %v, want a store error", err)
	}
}

// casKV is mapKV with CompareAndSwap, whose Gets return only when all the
// expected ones (gets) have read, so concurrent Takes all read the flow
// before any of them deletes it.
type casKV struct {
	mapKV
	gets sync.WaitGroup
}

func (k *casKV) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, ok, err := k.mapKV.Get(ctx, key)
	k.gets.Done()
	k.gets.Wait()
	return v, ok, err
}

func (k *casKV) CompareAndSwap(_ context.Context, key string, old, v []byte, _ time.Duration) (bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	cur, ok := k.m[key]
	if !ok || string(cur) != string(old) {
		return false, nil
	}
	k.m[key] = v
	return true, nil
}

// TestConcurrentTakeHasOneWinner: two replicas taking the same state at once
// (an admin-consent callback has no code to redeem once): exactly one wins.
func TestConcurrentTakeHasOneWinner(t *testing.T) {
	ctx := context.Background()
	kv := &casKV{mapKV: mapKV{m: map[string][]byte{}}}
	s, err := New(kv, [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, 10*time.Minute, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, &Flow{State: "st", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var wins, wg = make(chan bool, 2), sync.WaitGroup{}
	kv.gets.Add(2)
	for range 2 {
		wg.Go(func() {
			f, err := s.Take(ctx, "st")
			if err != nil && !errors.Is(err, ErrNotFound) {
				t.Errorf("Take: %v", err)
			}
			wins <- f != nil
		})
	}
	wg.Wait()
	close(wins)
	n := 0
	for w := range wins {
		if w {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d Takes won, want exactly 1", n)
	}
}

// TestTakeIfRefusedLeavesFlow: a flow accept refuses is ErrRefused and stays
// in the store as it was, for the browser that started it.
func TestTakeIfRefusedLeavesFlow(t *testing.T) {
	ctx := context.Background()
	kv := &casKV{mapKV: mapKV{m: map[string][]byte{}}}
	s, err := New(kv, [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, 10*time.Minute, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, &Flow{State: "st", SID: "victim", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	before := string(kv.m[Prefix+ID("st")])
	bound := func(sid string) func(*Flow) bool { return func(f *Flow) bool { return f.SID == sid } }
	kv.gets.Add(1)
	if f, err := s.TakeIf(ctx, "st", bound("attacker")); f != nil || !errors.Is(err, ErrRefused) {
		t.Fatalf("TakeIf(other session) = %+v, %v; want ErrRefused", f, err)
	}
	if got := string(kv.m[Prefix+ID("st")]); got != before {
		t.Fatal("a refused TakeIf changed the flow's entry")
	}
	kv.gets.Add(1)
	if f, err := s.TakeIf(ctx, "st", bound("victim")); err != nil || f.SID != "victim" {
		t.Fatalf("TakeIf(own session) = %+v, %v", f, err)
	}
}

// failDeleteKV is casKV whose Delete always fails.
type failDeleteKV struct{ casKV }

func (k *failDeleteKV) Delete(context.Context, string) error {
	return errors.New("store: delete failed")
}

// TestTakeSurvivesFailedDeleteAfterClaim: once the compare-and-swap has
// claimed the flow, a failing Delete does not fail the Take (the user would
// get a 503, and a retry a 400, the flow being gone); the empty marker left
// behind reads as not found. Without compare-and-swap the Delete is the claim,
// and its failure is still an error.
func TestTakeSurvivesFailedDeleteAfterClaim(t *testing.T) {
	ctx := context.Background()
	secrets := [][]byte{[]byte("0123456789abcdef0123456789abcdef")}
	kv := &failDeleteKV{casKV{mapKV: mapKV{m: map[string][]byte{}}}}
	s, err := New(kv, secrets, 10*time.Minute, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, &Flow{State: "st", Nonce: "n", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	kv.gets.Add(1)
	if f, err := s.Take(ctx, "st"); err != nil || f.Nonce != "n" {
		t.Fatalf("Take = %+v, %v; want the flow", f, err)
	}
	kv.gets.Add(1)
	if _, err := s.Take(ctx, "st"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Take = %v, want ErrNotFound", err)
	}

	plain := &mapKV{m: map[string][]byte{}}
	s, _ = New(plain, secrets, 10*time.Minute, time.Now)
	if err := s.Put(ctx, &Flow{State: "st", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	plain.e = errors.New("store down")
	if _, err := s.Take(ctx, "st"); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Take without compare-and-swap = %v, want a store error", err)
	}
}

// TestTakeToleratesSkew: a replica whose clock is a few minutes behind the
// one that started a flow still takes it; a flow from further ahead is refused.
func TestTakeToleratesSkew(t *testing.T) {
	ctx := context.Background()
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		behind time.Duration
		ok     bool
	}{{61 * time.Second, true}, {ClockSkew - time.Second, true}, {ClockSkew + time.Second, false}} {
		kv := &mapKV{m: map[string][]byte{}}
		s, _ := New(kv, [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, 10*time.Minute,
			func() time.Time { return created.Add(-tc.behind) })
		_ = s.Put(ctx, &Flow{State: "st", Created: created, SID: "sid"})
		if _, err := s.Take(ctx, "st"); (err == nil) != tc.ok {
			t.Errorf("taker %v behind: %v, want ok %v", tc.behind, err, tc.ok)
		}
	}
}

// TestTakeFlowSealedBeforeSeal: a flow stored the way this package sealed
// flows before package seal (the Flow's JSON, AES-256-GCM under
// HMAC-SHA256(secret, "consentry/flow/v1"), the nonce first, the flow's ID as
// additional data) is still taken, so sign-ins under way survive an upgrade.
func TestTakeFlowSealedBeforeSeal(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	secret := []byte("0123456789abcdef0123456789abcdef")
	kv := &mapKV{m: map[string][]byte{}}
	s, err := New(kv, [][]byte{secret}, 10*time.Minute, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := json.Marshal(&Flow{Nonce: "n", Verifier: "v", ReturnURL: "/mail", Created: now, SID: "sid"})
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("consentry/flow/v1"))
	block, _ := aes.NewCipher(mac.Sum(nil))
	gcm, _ := cipher.NewGCM(block)
	nonce := make([]byte, gcm.NonceSize())
	_, _ = rand.Read(nonce)
	kv.m[Prefix+ID("st")] = gcm.Seal(nonce, nonce, plain, []byte(ID("st")))
	got, err := s.Take(ctx, "st")
	if err != nil || got.Nonce != "n" || got.Verifier != "v" || got.ReturnURL != "/mail" || got.SID != "sid" {
		t.Fatalf("Take = %+v, %v; want the flow", got, err)
	}
	if _, err := s.Take(ctx, "st"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Take = %v; want ErrNotFound", err)
	}
}
