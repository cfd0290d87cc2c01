package tokencache

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// MSAL's cache JSON (v1.10.1) is an object of sections ("AccessToken",
// "RefreshToken", "IdToken", "Account", "AppMetadata"), each an object of
// entries by cache key. Times are Unix seconds as JSON strings.
type msalDoc map[string]map[string]json.RawMessage

const (
	sectionAccessToken  = "AccessToken"
	sectionRefreshToken = "RefreshToken"
)

// msalTimes are the fields of an access token entry the Cache reads.
type msalTimes struct {
	ExpiresOn         string `json:"expires_on"`
	ExtendedExpiresOn string `json:"extended_expires_on"`
	CachedAt          string `json:"cached_at"`
}

func parseDoc(b []byte) (msalDoc, error) {
	var d msalDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("tokencache: MSAL cache JSON: %w", err)
	}
	if d == nil {
		d = msalDoc{}
	}
	return d, nil
}

// merge folds theirs (what another writer stored) into ours (what MSAL
// exported) and returns ours: the union of entries of every section. When both
// hold an entry under one key, ours wins (it was written by MSAL after a
// network call), except access tokens, where the one cached later wins. Access
// tokens that expired before now are dropped.
func merge(ours, theirs msalDoc, now time.Time) msalDoc {
	for name, entries := range theirs {
		sec := ours[name]
		if sec == nil {
			sec = map[string]json.RawMessage{}
			ours[name] = sec
		}
		for k, v := range entries {
			mine, ok := sec[k]
			if !ok || (name == sectionAccessToken && timesOf(v).cachedAt > timesOf(mine).cachedAt) {
				sec[k] = v
			}
		}
	}
	dropExpired(ours, now)
	return ours
}

func dropExpired(d msalDoc, now time.Time) {
	for k, v := range d[sectionAccessToken] {
		if exp := timesOf(v).expiresAt(); exp > 0 && exp < now.Unix() {
			delete(d[sectionAccessToken], k)
		}
	}
}

type entryTimes struct{ expiresOn, extExpiresOn, cachedAt int64 }

func (t entryTimes) expiresAt() int64 { return max(t.expiresOn, t.extExpiresOn) }

func timesOf(raw json.RawMessage) entryTimes {
	var m msalTimes
	if json.Unmarshal(raw, &m) != nil {
		return entryTimes{}
	}
	return entryTimes{unix(m.ExpiresOn), unix(m.ExtendedExpiresOn), unix(m.CachedAt)}
}

func unix(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// partitionTTL is how long a partition is kept: until its longest-lived token
// expires. A refresh token (MSAL stores no expiry for it) counts as living
// rtTTL from now; an access token lives until the later of expires_on and
// extended_expires_on. A partition with no live token is kept for minTTL, so
// account data written with it stays readable for a while.
func partitionTTL(d msalDoc, now time.Time, rtTTL time.Duration) time.Duration {
	ttl := minTTL
	if len(d[sectionRefreshToken]) > 0 {
		ttl = max(ttl, rtTTL)
	}
	for _, v := range d[sectionAccessToken] {
		if exp := timesOf(v).expiresAt(); exp > 0 {
			ttl = max(ttl, time.Unix(exp, 0).Sub(now))
		}
	}
	return ttl
}

// minTTL is the lifetime of a partition holding no live token.
const minTTL = time.Hour
