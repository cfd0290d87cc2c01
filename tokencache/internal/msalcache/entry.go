package msalcache

import (
	"encoding/json"
	"strconv"
)

// Fields of an entry that Find reads (text slots and time slots).
const (
	fHome = iota
	fEnv
	fRealm
	fClient
	fSecret
	fTarget
	fTokenType
	fKeyID
	fExtKey
	nText
)

const (
	tRefreshOn = iota
	tExpiresOn
	tExtExpiresOn
	tCachedAt
	nTime
)

type kind uint8

const (
	text     kind = iota // a JSON string (MSAL: a Go string field)
	unixTime             // MSAL's internal time.Unix: "<seconds>"
)

// field is one JSON member of an entry that MSAL decodes into a struct field.
type field struct {
	kind kind
	slot int8 // text or time slot Find reads; -1 if none
	bit  uint8
}

// schema is the struct MSAL decodes a section's entries into, by JSON name.
type schema map[string]field

func fields(texts map[string]int8, times map[string]int8) schema {
	s := schema{}
	for name, slot := range texts {
		s[name] = field{kind: text, slot: slot, bit: uint8(len(s))}
	}
	for name, slot := range times {
		s[name] = field{kind: unixTime, slot: slot, bit: uint8(len(s))}
	}
	return s
}

// The sections of MSAL Go v1.10.1's storage.Contract and the JSON names of
// their structs' fields (storage.AccessToken, accesstokens.RefreshToken,
// storage.IDToken, shared.Account, storage.AppMetaData). Members not named
// here go to the struct's AdditionalFields and may hold any JSON.
var sections = map[string]schema{
	"AccessToken": fields(map[string]int8{"home_account_id": fHome, "environment": fEnv, "realm": fRealm,
		"credential_type": -1, "client_id": fClient, "secret": fSecret, "target": fTarget,
		"user_assertion_hash": -1, "token_type": fTokenType, "keyid": fKeyID, "ext_cache_key": fExtKey},
		map[string]int8{"refresh_on": tRefreshOn, "expires_on": tExpiresOn,
			"extended_expires_on": tExtExpiresOn, "cached_at": tCachedAt}),
	"RefreshToken": fields(map[string]int8{"home_account_id": -1, "environment": -1, "credential_type": -1,
		"client_id": -1, "family_id": -1, "secret": -1, "realm": -1, "target": -1, "user_assertion_hash": -1}, nil),
	"IdToken": fields(map[string]int8{"home_account_id": fHome, "environment": fEnv, "realm": fRealm,
		"credential_type": -1, "client_id": fClient, "secret": fSecret, "user_assertion_hash": -1}, nil),
	"Account": fields(map[string]int8{"home_account_id": -1, "environment": -1, "realm": -1,
		"local_account_id": -1, "authority_type": -1, "username": -1, "given_name": -1, "family_name": -1,
		"middle_name": -1, "name": -1, "alternative_account_id": -1, "client_info": -1,
		"user_assertion_hash": -1}, nil),
	"AppMetadata": fields(map[string]int8{"family_id": -1, "client_id": -1, "environment": -1}, nil),
}

// contractGoNames are storage.Contract's Go field names: MSAL's decoder maps a
// JSON member so named onto the field too.
var contractGoNames = map[string]bool{"AccessTokens": true, "RefreshTokens": true, "IDTokens": true,
	"Accounts": true, "AppMetaData": true, "AdditionalFields": true}

// entry is an access token or ID token entry as MSAL decodes it.
type entry struct {
	key     []byte
	text    [nText][]byte
	times   [nTime]int64
	timeSet [nTime]bool
}

func (e *entry) str(slot int) string { return string(e.text[slot]) }

// readEntry reads one entry of schema sc into e (nil: validate only). It
// declines members MSAL would map onto a Go field name (an entry's JSON
// names are lower case; Go's start upper case) and repeated fields.
func readEntry(s *scanner, sc schema, e *entry) bool {
	var seen uint32
	return s.object(func(s *scanner, name []byte, plain bool) bool {
		if !plain || len(name) > 0 && 'A' <= name[0] && name[0] <= 'Z' {
			return false
		}
		f, known := sc[string(name)]
		if !known {
			return s.value()
		}
		if seen&(1<<f.bit) != 0 {
			return false
		}
		seen |= 1 << f.bit
		if f.kind == unixTime {
			return readTime(s, f.slot, e)
		}
		return readText(s, f.slot, e)
	})
}

// readText reads a string member; null (which MSAL would take as "") is
// declined.
func readText(s *scanner, slot int8, e *entry) bool {
	raw, plain, ok := s.str()
	if !ok {
		return false
	}
	if e == nil || slot < 0 {
		return true
	}
	if plain {
		e.text[slot] = raw[1 : len(raw)-1]
		return true
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	e.text[slot] = []byte(v)
	return true
}

// readTime reads a time member as MSAL's time.Unix does (strconv.Atoi of
// the value without its quotes), declining all but plain strings.
func readTime(s *scanner, slot int8, e *entry) bool {
	raw, plain, ok := s.str()
	if !ok || !plain {
		return false
	}
	n, err := strconv.Atoi(string(raw[1 : len(raw)-1]))
	if err != nil {
		return false
	}
	if e != nil && slot >= 0 {
		e.times[slot], e.timeSet[slot] = int64(n), true
	}
	return true
}
