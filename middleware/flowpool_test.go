package middleware

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestFlowPoolsAdmit: a spent anonymous budget refuses new entries instead of
// evicting older ones, leaves the signed-in users' budget alone, and frees
// its charges once their TTL passed, deleted entries included.
func TestFlowPoolsAdmit(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	p := newFlowPools(func() time.Time { return now })
	ctx := context.Background()
	value := make([]byte, 1000)
	n := 0
	for ; ; n++ {
		err := p.Set(ctx, fmt.Sprint("consentry:flow:", n), value, FlowTTL)
		if errors.Is(err, errFlowPoolFull) {
			break
		}
		if err != nil || n > flowPoolAnonFlows/1000 {
			t.Fatalf("set %d: %v", n, err)
		}
	}
	if _, ok, _ := p.Get(ctx, "consentry:flow:0"); !ok {
		t.Fatal("the first anonymous flow was evicted by later ones")
	}
	user := flowWriterContext(ctx, "alice.home")
	if err := p.Set(user, "consentry:flow:user", value, FlowTTL); err != nil {
		t.Fatalf("a signed-in user's flow refused by the anonymous flood: %v", err)
	}
	if err := p.Set(ctx, "consentry:resume:kept", value, FlowTTL); err != nil {
		t.Fatalf("a kept body refused for lack of room among flows: %v", err)
	}
	for i := range n {
		_ = p.Delete(ctx, fmt.Sprint("consentry:flow:", i))
	}
	if err := p.Set(ctx, "consentry:flow:again", value, FlowTTL); !errors.Is(err, errFlowPoolFull) {
		t.Fatalf("deleted entries freed their charge before their TTL: %v", err)
	}
	now = now.Add(flowMaxTTL)
	if err := p.Set(ctx, "consentry:flow:again", value, FlowTTL); err != nil {
		t.Fatalf("after the TTL: %v", err)
	}
}

// TestFlowPoolsCompareAndSwap: the claim of a flow (sealed.Claim) works
// across budgets and only once.
func TestFlowPoolsCompareAndSwap(t *testing.T) {
	p := newFlowPools(time.Now)
	ctx := context.Background()
	user := flowWriterContext(ctx, "alice.home")
	if err := p.Set(user, "k", []byte("v"), FlowTTL); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		if ok, err := p.CompareAndSwap(ctx, "k", []byte("v"), []byte{}, time.Minute); ok != want || err != nil {
			t.Fatalf("swap %d = %v, %v; want %v", i, ok, err, want)
		}
	}
	if v, ok, err := p.Get(ctx, "k"); !ok || err != nil || len(v) != 0 {
		t.Fatalf("after the claim, k = %q, %v, %v; want the swapped-in empty value", v, ok, err)
	}
	if ok, err := p.CompareAndSwap(ctx, "absent", nil, []byte("x"), time.Minute); !ok || err != nil {
		t.Fatalf("swap into an absent key = %v, %v", ok, err)
	}
	if v, ok, err := p.Get(ctx, "absent"); !ok || err != nil || string(v) != "x" {
		t.Fatalf("after the swap, absent = %q, %v, %v; want x", v, ok, err)
	}
}

// TestFlowPoolsAccountShare: one signed-in account starting sign-ins in a
// loop (anyone may sign in to a multi-tenant app) is refused once its share
// is spent, and another signed-in user's flow still fits.
func TestFlowPoolsAccountShare(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	p := newFlowPools(func() time.Time { return now })
	mallory := flowWriterContext(context.Background(), "mallory.home")
	value := make([]byte, 1000)
	for n := 0; ; n++ {
		err := p.Set(mallory, fmt.Sprint("consentry:flow:m", n), value, FlowTTL)
		if errors.Is(err, errFlowPoolFull) {
			break
		}
		if err != nil || n > flowPoolUser/1000 {
			t.Fatalf("set %d: %v", n, err)
		}
	}
	alice := flowWriterContext(context.Background(), "alice.home")
	if err := p.Set(alice, "consentry:flow:alice", value, FlowTTL); err != nil {
		t.Fatalf("alice's flow refused after mallory's flood: %v", err)
	}
	now = now.Add(FlowTTL + time.Second)
	if err := p.Set(mallory, "consentry:flow:later", value, FlowTTL); err != nil {
		t.Fatalf("mallory's share not freed once the TTL passed: %v", err)
	}
}
