package tokencache_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/consentry/consentry/tokencache"
)

// TestPartitionTTLFollowsLongestToken checks the TTL each Export sets, with
// a fixed clock.
func TestPartitionTTLFollowsLongestToken(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	rt := map[string]string{"rt": "secret"}
	tests := []struct {
		name string
		doc  string
		opts []tokencache.Option
		want time.Duration
	}{
		{"access token only", docWith("a", nil, now.Add(3*time.Hour)), nil, 3 * time.Hour},
		{"refresh token: default", docWith("a", rt, now.Add(time.Hour)), nil, tokencache.DefaultRefreshTokenTTL},
		{"refresh token: configured", docWith("a", rt, now.Add(time.Hour)),
			[]tokencache.Option{tokencache.WithRefreshTokenTTL(48 * time.Hour)}, 48 * time.Hour},
		{"access token outlives refresh TTL", docWith("a", rt, now.Add(5*time.Hour)),
			[]tokencache.Option{tokencache.WithRefreshTokenTTL(2 * time.Hour)}, 5 * time.Hour},
		{"no live token", docWith("a", nil, now.Add(-time.Minute)), nil, time.Hour},
		{"empty cache", `{}`, nil, time.Hour},
	}
	for _, tt := range tests {
		for _, afterReplace := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/after Replace=%v", tt.name, afterReplace), func(t *testing.T) {
				r := newRemote()
				opts := append([]tokencache.Option{tokencache.WithKey("k", newKey(t)), tokencache.WithClock(func() time.Time { return now })}, tt.opts...)
				c, m := newCache(t, r, opts...), &msalCache{}
				if afterReplace {
					mustReplace(t, c, m)
				}
				m.data = []byte(tt.doc)
				if err := c.Export(context.Background(), m, exportHints("p")); err != nil {
					t.Fatal(err)
				}
				if r.lastTTL != tt.want {
					t.Fatalf("TTL = %v; want %v", r.lastTTL, tt.want)
				}
			})
		}
	}
}

// TestExpiredAccessTokensDropped: an access token past its expiry is not
// written back, whether MSAL exports it right after a Replace (the single
// compare-and-swap path) or without one (the merge path).
func TestExpiredAccessTokensDropped(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, afterReplace := range []bool{true, false} {
		t.Run(map[bool]string{true: "after Replace", false: "without Replace"}[afterReplace], func(t *testing.T) {
			c := newCache(t, nil, tokencache.WithClock(func() time.Time { return now }))
			m := &msalCache{}
			if afterReplace {
				mustReplace(t, c, m)
			}
			m.data = []byte(docWith("a", map[string]string{"rt": "x"}, now.Add(-time.Second)))
			if err := c.Export(context.Background(), m, exportHints("p")); err != nil {
				t.Fatal(err)
			}
			mustReplace(t, c, m)
			d := decode(t, m.data)
			if len(d["AccessToken"]) != 0 || len(d["RefreshToken"]) != 1 {
				t.Fatalf("stored %d access and %d refresh tokens; want 0 and 1", len(d["AccessToken"]), len(d["RefreshToken"]))
			}
		})
	}
}

// TestNewerAccessTokenWins: when two writers hold the same access token key,
// the one cached later survives, whichever writes last.
func TestNewerAccessTokenWins(t *testing.T) {
	now := time.Now()
	c := newCache(t, nil)
	newer := docWith("a", nil, now.Add(2*time.Hour))
	if err := export(c, "p", newer); err != nil {
		t.Fatal(err)
	}
	if err := export(c, "p", docWith("a", nil, now.Add(time.Hour))); err != nil { // older cached_at
		t.Fatal(err)
	}
	m := &msalCache{}
	if err := replace(c, "p", m); err != nil {
		t.Fatal(err)
	}
	got, want := decode(t, m.data)["AccessToken"], decode(t, []byte(newer))["AccessToken"]
	if len(got) != 1 || len(want) != 1 {
		t.Fatalf("stored %d access tokens; want 1 (the newer document holds %d)", len(got), len(want))
	}
	if firstOf(got)["secret"] != firstOf(want)["secret"] {
		t.Fatal("an older access token replaced a newer one")
	}
}

func firstOf(m map[string]map[string]any) map[string]any {
	for _, v := range m {
		return v
	}
	return nil
}
