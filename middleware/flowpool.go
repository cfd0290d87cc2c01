package middleware

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/consentry/consentry/tokencache"
)

// The default in-process FlowStore admits writes instead of evicting. What
// it holds is split three ways, each with its own byte budget: writes made
// for sessions with a signed-in user; flows and loop counters of sessions
// without one; and kept form bodies of sessions without one. A budget is
// charged for an entry from its Set until its TTL ends, deleted or not (a
// flow is usually taken within seconds; its key stays charged), and a Set
// that does not fit is refused (503, "try again") rather than evicting
// anything. So a flood of anonymous requests cannot cancel a sign-in already
// under way (its flow stays until used or expired), cannot touch the flows of
// signed-in users, and kept bodies cannot crowd out flows; while a flood
// lasts, new anonymous sign-ins may be refused. Writes not marked as a
// signed-in user's (flowWriterContext) count as anonymous. Anyone can sign in
// to a multi-tenant app, so one account may hold at most flowPoolPerAccount
// of the signed-in budget: a user flooding sign-in links spends their own
// share, not the other users'.

// Shares of DefaultFlowStoreBytes.
const (
	flowPoolUser      = DefaultFlowStoreBytes / 2
	flowPoolAnonFlows = DefaultFlowStoreBytes / 4
	flowPoolAnonKept  = DefaultFlowStoreBytes / 4
	// flowPoolPerAccount is one account's share of flowPoolUser: room for a
	// kept body of DefaultMaxResumeBody and its flows.
	flowPoolPerAccount = flowPoolUser / 4
	// flowEntryOverhead is charged per entry on top of its key and value.
	flowEntryOverhead = 64
	// flowMaxTTL is the TTL of an entry set with none (nothing is kept forever).
	flowMaxTTL = FlowTTL + time.Minute
)

// errFlowPoolFull: a budget of the default flow store is spent.
var errFlowPoolFull = fmt.Errorf("%w: too many sign-ins are pending; try again in a few minutes", tokencache.ErrUnavailable)

// flowWriterKey marks the writes of a request with its signed-in account.
type flowWriterKey struct{}

// flowWriterContext returns ctx marked with the account (its home account
// id; "" for none) of the session writing to the flow store.
func flowWriterContext(ctx context.Context, account string) context.Context {
	return context.WithValue(ctx, flowWriterKey{}, account)
}

// flowWriter is the account that ctx's writes are made for ("" for none).
func flowWriter(ctx context.Context) string {
	a, _ := ctx.Value(flowWriterKey{}).(string)
	return a
}

// flowPools is the default in-process FlowStore.
type flowPools struct {
	user, anonFlows, anonKept *flowPool
}

func newFlowPools(now func() time.Time) *flowPools {
	user := newFlowPool(flowPoolUser, now)
	user.perOwner = flowPoolPerAccount
	return &flowPools{user: user, anonFlows: newFlowPool(flowPoolAnonFlows, now),
		anonKept: newFlowPool(flowPoolAnonKept, now)}
}

// InProcess reports true: the data never leaves the process.
func (p *flowPools) InProcess() bool { return true }

// pool is where a write of key from ctx goes.
func (p *flowPools) pool(ctx context.Context, key string) *flowPool {
	if flowWriter(ctx) != "" {
		return p.user
	}
	if strings.HasPrefix(key, "consentry:resume:") {
		return p.anonKept
	}
	return p.anonFlows
}

// Get implements tokencache.Store.
func (p *flowPools) Get(ctx context.Context, key string) ([]byte, bool, error) {
	for _, q := range []*flowPool{p.user, p.anonFlows, p.anonKept} {
		if v, ok := q.get(key); ok {
			return v, true, nil
		}
	}
	return nil, false, ctx.Err()
}

// Set implements tokencache.Store.
func (p *flowPools) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	p.Delete(ctx, key)
	return p.pool(ctx, key).set(key, value, ttl, nil, false, flowWriter(ctx))
}

// Delete implements tokencache.Store.
func (p *flowPools) Delete(_ context.Context, key string) error {
	for _, q := range []*flowPool{p.user, p.anonFlows, p.anonKept} {
		q.delete(key)
	}
	return nil
}

// CompareAndSwap implements tokencache.CompareAndSwapper.
func (p *flowPools) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	q := p.pool(ctx, key)
	for _, h := range []*flowPool{p.user, p.anonFlows, p.anonKept} {
		if _, ok := h.get(key); ok {
			q = h
		}
	}
	err := q.set(key, value, ttl, old, true, flowWriter(ctx))
	if errors.Is(err, errSwapLost) {
		return false, nil
	}
	return err == nil, err
}

// errSwapLost: the value a CompareAndSwap expected is not there.
var errSwapLost = errors.New("middleware: compare-and-swap lost")

// flowPool is one budget: entries with expiries, and the charges of the
// entries set within their TTL, oldest first.
type flowPool struct {
	mu      sync.Mutex
	now     func() time.Time
	max     int64
	charged int64
	items   map[string]*flowItem
	charges []flowCharge // charges[head:] are live
	head    int
	// perOwner, when set, bounds the live charges of one owner (owners).
	perOwner int64
	owners   map[string]int64
}

type flowItem struct {
	value   []byte
	expires time.Time
}

type flowCharge struct {
	key   string
	owner string
	item  *flowItem
	bytes int64
}

func newFlowPool(max int64, now func() time.Time) *flowPool {
	return &flowPool{max: max, now: now, items: map[string]*flowItem{}}
}

func (q *flowPool) get(key string) ([]byte, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	it, ok := q.items[key]
	if !ok || !q.now().Before(it.expires) {
		return nil, false
	}
	return bytes.Clone(it.value), true
}

func (q *flowPool) delete(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if it, ok := q.items[key]; ok {
		it.value = nil // its charge stays until its expiry
		delete(q.items, key)
	}
}

// set stores value under key for ttl if its charge fits the budget; with
// swap, only if the value now under key is old (nil: none). owner is the
// account charged ("" for none).
func (q *flowPool) set(key string, value []byte, ttl time.Duration, old []byte, swap bool, owner string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	q.release(now)
	if swap {
		cur, ok := q.items[key]
		live := ok && now.Before(cur.expires)
		if live != (old != nil) || live && !bytes.Equal(cur.value, old) {
			return errSwapLost
		}
	}
	if ttl <= 0 || ttl > flowMaxTTL {
		ttl = flowMaxTTL
	}
	n := int64(len(key)+len(value)) + flowEntryOverhead
	if q.charged+n > q.max || q.perOwner > 0 && q.owners[owner]+n > q.perOwner {
		return errFlowPoolFull
	}
	if q.perOwner > 0 {
		if q.owners == nil {
			q.owners = map[string]int64{}
		}
		q.owners[owner] += n
	}
	it := &flowItem{value: bytes.Clone(value), expires: now.Add(ttl)}
	if prev, ok := q.items[key]; ok {
		prev.value = nil
	}
	q.items[key] = it
	q.charges = append(q.charges, flowCharge{key: key, owner: owner, item: it, bytes: n})
	q.charged += n
	return nil
}

// release ends the charges, oldest first, whose entries expired by now. A
// charge set after one with a longer TTL ends no earlier than that one.
func (q *flowPool) release(now time.Time) {
	for q.head < len(q.charges) && !now.Before(q.charges[q.head].item.expires) {
		c := q.charges[q.head]
		q.charges[q.head] = flowCharge{}
		q.head++
		q.charged -= c.bytes
		if q.perOwner > 0 {
			if q.owners[c.owner] -= c.bytes; q.owners[c.owner] <= 0 {
				delete(q.owners, c.owner)
			}
		}
		if q.items[c.key] == c.item {
			delete(q.items, c.key)
		}
	}
	if q.head > 0 && q.head >= len(q.charges)/2 {
		q.charges = append(q.charges[:0:0], q.charges[q.head:]...)
		q.head = 0
	}
}
