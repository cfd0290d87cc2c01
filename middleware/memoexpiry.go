package middleware

import (
	"math/rand/v2"
	"time"
)

// memoLife is how long a decoded session cookie is reused: memoTTL less a
// random quarter at most. Users whose cookies were decoded at the same
// moment (a deploy, a herd of sign-ins) would otherwise all be decoded again
// at the same moment every memoTTL; the jitter spreads those decodes out a
// little more on every round.
func memoLife() time.Duration {
	return memoTTL - rand.N(memoTTL/4)
}
