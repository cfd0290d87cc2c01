package redisstore_test

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentry/consentry/tokencache/redisstore"
	"github.com/consentry/consentry/tokencache/redisstore/redistest"
)

// The failover scenario: users (200 for the README's figures, fewer by
// default to keep go test quick) on two replicas, their access tokens so
// short-lived that every page load refreshes them through Redis (a GET and a
// compare-and-swap of the user's partition), while the primary holding a
// user's partition is killed, failed over and restarted as a replica.
var failoverUsers = flag.Int("failover.users", 20,
	"users in TestFailoverUnderLoad; the README's figures are for 200")

const (
	// failoverTokenLifetime is under the middleware's and MSAL's five-minute
	// refresh margin: every page load redeems the refresh token.
	failoverTokenLifetime = 4 * time.Minute
	// maxLoads bounds each user's page loads; a user needs far fewer.
	maxLoads = 500
	// failoverLoads is how many page loads a user starts during the failover
	// before waiting for its end: enough to keep load on Redis throughout,
	// few enough to leave the CPU to the failover.
	failoverLoads = 3
	// waitAcks is the WithWait the replicas run with.
	waitAcks = 1
)

// failover kills and restarts a primary of a deployment: kill returns what
// restore needs; restore returns once the failover is done and the killed
// server is back as a replica in sync.
type failover struct {
	kill    func(a *app, first *user) (killed string)
	restore func(killed string)
}

// TestFailoverUnderLoad: no user with a refresh token is sent to sign-in
// or consent during a failover, every page loaded once it is over is
// served, and no refresh token is lost. 503s while the primary is
// unreachable are counted, not asserted; the README's figures come from
//
//	go test -run TestFailoverUnderLoad -v ./tokencache/redisstore/ -args -failover.users=200
func TestFailoverUnderLoad(t *testing.T) {
	t.Run("cluster", func(t *testing.T) {
		c := redistest.StartCluster(t)
		var key string // the first user's partition
		runFailover(t, clientsOf(c.Client, t), failover{
			kill: func(a *app, first *user) string {
				key = a.prefix + first.ObjectID + "." + first.TenantID
				primary := c.PrimaryOf(key)
				c.Kill(primary)
				return primary
			},
			restore: func(killed string) {
				c.WaitPrimaryChanged(key, killed)
				c.Restart(killed)
				c.WaitHealthy()
			},
		})
	})
	t.Run("sentinel", func(t *testing.T) {
		s := redistest.StartSentinel(t)
		runFailover(t, clientsOf(s.Client, t), failover{
			kill: func(*app, *user) string {
				primary := s.Primary()
				s.Kill(primary)
				return primary
			},
			restore: func(killed string) {
				s.WaitPrimaryChanged(killed)
				s.Restart(killed)
				s.WaitHealthy()
			},
		})
	})
}

// runFailover signs the users in, loads pages with all of them at once, runs
// the failover once every user has loaded a page, lets every user load a
// page after it is over, and checks the outcomes.
func runFailover(t *testing.T, clients [2]redis.UniversalClient, f failover) {
	a := newApp(t, clients, failoverTokenLifetime, redisstore.WithWait(waitAcks, 500*time.Millisecond))
	users := signInAll(t, a)
	var (
		tally          = newTally()
		warm, finished sync.WaitGroup
		healed         = make(chan struct{})
	)
	warm.Add(len(users))
	finished.Add(len(users))
	for i, u := range users {
		go func() {
			defer finished.Done()
			tally.browse(a, u, i, &warm, healed)
		}()
	}
	warm.Wait()
	killed := f.kill(a, users[0])
	tally.phase("failover")
	began := time.Now()
	a.readAcrossFailover(t, clients[0], users[0])
	f.restore(killed)
	took := time.Since(began) // logged, never asserted
	tally.phase("after")
	close(healed)
	finished.Wait()
	t.Logf("%d users on 2 replicas, WithWait(%d); %s killed, failed over and back as a replica in %v; page loads:\n%s",
		len(users), waitAcks, killed, took.Round(100*time.Millisecond), tally)
	lost := 0
	for _, u := range users {
		if a.refreshTokens(t, clients[0], u) == 0 {
			lost++
		}
	}
	t.Logf("refresh tokens lost: %d of %d", lost, len(users))
	tally.check(t, lost)
}

// readAcrossFailover reads u's partition, whose primary has just been
// killed, through a Store of its own with a deadline longer than any
// failover: the Store tries again until the failover is done and finds it.
func (a *app) readAcrossFailover(t *testing.T, rdb redis.UniversalClient, u *user) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store := redisstore.New(rdb, a.opts...)
	if _, found, err := store.Get(ctx, u.ObjectID+"."+u.TenantID); !found || err != nil {
		t.Errorf("Get of a partition whose primary was killed, within a minute = found %v, %v; want found once the failover is done", found, err)
	}
}

// signInAll adds the users and has each consent to /profile, through
// replica i%2.
func signInAll(t *testing.T, a *app) []*user {
	users := make([]*user, *failoverUsers)
	errs := make(chan error, len(users))
	for i := range users {
		users[i] = a.addUser(i)
		go func() { errs <- a.consent(users[i], i%2, "/profile") }()
	}
	for range users {
		if err := <-errs; err != nil {
			t.Fatalf("sign-in before the failover: %v", err)
		}
	}
	return users
}

// tally counts page-load outcomes per phase: "before" the kill, during the
// "failover" (kill to failed-over primary restarted as a replica in sync)
// and "after" it. A load counts in the phase it started in.
type tally struct {
	mu      sync.Mutex
	current string
	counts  map[string]map[string]int // phase -> outcome -> count
	slowest map[string]time.Duration  // phase -> longest page load, logged only
	stuck   int                       // users who reached maxLoads before the end
}

func newTally() *tally {
	return &tally{current: "before", counts: map[string]map[string]int{}, slowest: map[string]time.Duration{}}
}

func (t *tally) phase(p string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.current = p
}

func (t *tally) start() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.current
}

func (t *tally) add(phase, outcome string, took time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.slowest[phase] = max(t.slowest[phase], took)
	if t.counts[phase] == nil {
		t.counts[phase] = map[string]int{}
	}
	t.counts[phase][outcome]++
}

// browse loads /profile on alternate replicas: it marks warm after its
// first load, pauses after failoverLoads loads during the failover until
// healed is closed, and stops after its first load started after that.
func (t *tally) browse(a *app, u *user, i int, warm *sync.WaitGroup, healed <-chan struct{}) {
	duringFailover := 0
	for n := range maxLoads {
		phase, began := t.start(), time.Now()
		outcome := a.load(u, (i+n)%2, "/profile")
		t.add(phase, outcome, time.Since(began))
		if n == 0 {
			warm.Done()
		}
		switch phase {
		case "after":
			return
		case "failover":
			if duringFailover++; duringFailover == failoverLoads {
				<-healed
			}
		}
	}
	t.mu.Lock()
	t.stuck++
	t.mu.Unlock()
	<-healed
}

func (t *tally) String() string {
	var b strings.Builder
	for _, phase := range []string{"before", "failover", "after"} {
		fmt.Fprintf(&b, "  %-8s", phase)
		for _, o := range slices.Sorted(maps.Keys(t.counts[phase])) {
			fmt.Fprintf(&b, "  %s: %d", o, t.counts[phase][o])
		}
		fmt.Fprintf(&b, "  (slowest %v)", t.slowest[phase].Round(10*time.Millisecond))
		b.WriteByte('\n')
	}
	return b.String()
}

// check fails on any consent redirect, any outcome other than a page or a
// 503, any page load after the failover that was not served, any lost
// refresh token, and any user who ran out of page loads.
func (t *tally) check(tb testing.TB, lost int) {
	tb.Helper()
	for phase, counts := range t.counts {
		for outcome, n := range counts {
			switch {
			case outcome == served:
			case outcome == unavailable && phase != "after":
			default:
				tb.Errorf("%s: %d page loads: %s", phase, n, outcome)
			}
		}
	}
	if n := t.counts["after"][served]; n != *failoverUsers {
		tb.Errorf("after the failover %d users were served; want %d", n, *failoverUsers)
	}
	if lost != 0 {
		tb.Errorf("%d users lost their refresh token", lost)
	}
	if t.stuck != 0 {
		tb.Errorf("%d users made %d page loads before the failover ended", t.stuck, maxLoads)
	}
}
