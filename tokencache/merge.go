package tokencache

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
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
// network call), except access tokens, where the one cached later wins.
func merge(ours, theirs msalDoc) msalDoc {
	for name, entries := range theirs {
		sec := ours[name]
		if sec == nil {
			sec = map[string]json.RawMessage{}
			ours[name] = sec
		}
		for k, v := range entries {
			if mine, ok := sec[k]; !ok || (name == sectionAccessToken && newer(v, mine)) {
				sec[k] = v
			}
		}
	}
	return ours
}

// newer reports whether access token entry a was cached after b.
func newer(a, b json.RawMessage) bool {
	return !bytes.Equal(a, b) && timesOf(a).cachedAt > timesOf(b).cachedAt
}

// dropExpired deletes access tokens that expired before now and returns the
// latest expiry (Unix seconds) of those left, 0 if none.
func dropExpired(d msalDoc, now time.Time) int64 {
	var latest int64
	for k, v := range d[sectionAccessToken] {
		exp := timesOf(v).expiresAt()
		if exp > 0 && exp < now.Unix() {
			delete(d[sectionAccessToken], k)
			continue
		}
		latest = max(latest, exp)
	}
	return latest
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

// summary is what the Cache needs to know of an MSAL document to store it.
type summary struct {
	refresh  bool  // holds a refresh token
	atExpiry int64 // latest access token expiry, Unix seconds; 0 if none
	expired  bool  // holds an access token that expired before now
}

// summarize reads the access token times and refresh token presence of an
// MSAL document, without copying its secrets.
func summarize(plain []byte, now time.Time) (summary, error) {
	var d struct {
		AccessToken  map[string]msalTimes
		RefreshToken map[string]struct{}
	}
	if err := json.Unmarshal(plain, &d); err != nil {
		return summary{}, fmt.Errorf("tokencache: MSAL cache JSON: %w", err)
	}
	s := summary{refresh: len(d.RefreshToken) > 0}
	for _, t := range d.AccessToken {
		exp := max(unix(t.ExpiresOn), unix(t.ExtendedExpiresOn))
		s.expired = s.expired || (exp > 0 && exp < now.Unix())
		s.atExpiry = max(s.atExpiry, exp)
	}
	return s, nil
}

// partitionTTL is how long a partition is kept: until its longest-lived token
// expires. A refresh token (MSAL stores no expiry for it) counts as living
// rtTTL from now; an access token lives until the later of expires_on and
// extended_expires_on (atExpiry, the latest, in Unix seconds). A partition
// with no live token is kept for minTTL, so account data written with it
// stays readable for a while.
func partitionTTL(hasRefresh bool, atExpiry int64, now time.Time, rtTTL time.Duration) time.Duration {
	ttl := minTTL
	if hasRefresh {
		ttl = max(ttl, rtTTL)
	}
	if atExpiry > 0 {
		ttl = max(ttl, time.Unix(atExpiry, 0).Sub(now))
	}
	return ttl
}

// marshal writes d as JSON. Entries are copied as they are: they were
// validated when parsed.
func (d msalDoc) marshal() []byte {
	n := 2
	for name, sec := range d {
		n += len(name) + 8
		for k, v := range sec {
			n += len(k) + len(v) + 8
		}
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, name := range slices.Sorted(maps.Keys(d)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendSection(appendString(b, name), d[name])
	}
	return append(b, '}')
}

func appendSection(b []byte, sec map[string]json.RawMessage) []byte {
	b = append(b, ':', '{')
	for i, k := range slices.Sorted(maps.Keys(sec)) {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, k), ':')
		b = append(b, sec[k]...)
	}
	return append(b, '}')
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// minTTL is the lifetime of a partition holding no live token.
const minTTL = time.Hour
