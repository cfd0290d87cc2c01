package protocol

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// BearerChallenge is a WWW-Authenticate: Bearer challenge's parameters.
type BearerChallenge map[string]string

// ParseBearer parses the Bearer challenges of WWW-Authenticate header values
// (RFC 6750 §3: auth-params, values quoted or tokens). Later challenges add
// parameters not set by earlier ones. ok is false when there is none.
func ParseBearer(values []string) (c BearerChallenge, ok bool) {
	c = BearerChallenge{}
	for _, v := range values {
		rest, found := cutScheme(v, "bearer")
		for found {
			var name, val string
			name, val, rest, found = nextParam(rest)
			if name != "" {
				ok = true
				if _, dup := c[name]; !dup {
					c[name] = val
				}
			}
		}
	}
	return c, ok
}

// cutScheme returns what follows the auth scheme at the start of v.
func cutScheme(v, scheme string) (string, bool) {
	v = strings.TrimSpace(v)
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", false
	}
	rest := v[len(scheme):]
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return "", false
	}
	return rest, true
}

// nextParam reads one name=value (value quoted or not) and the text after it.
func nextParam(s string) (name, val, rest string, more bool) {
	s = strings.TrimLeft(s, " \t,")
	eq := strings.IndexByte(s, '=')
	if eq <= 0 {
		return "", "", "", false
	}
	name, s = strings.ToLower(strings.TrimSpace(s[:eq])), strings.TrimLeft(s[eq+1:], " \t")
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		i := 1
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			b.WriteByte(s[i])
		}
		return name, b.String(), s[min(i+1, len(s)):], true
	}
	end := strings.IndexAny(s, ", \t")
	if end < 0 {
		return name, s, "", true
	}
	return name, s[:end], s[end:], true
}

// DecodeClaims decodes a claims challenge value: base64 (standard or URL
// alphabet, padded or not) of a JSON object. It returns the JSON, or ok=false.
func DecodeClaims(v string) (string, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(v)
		if err == nil && json.Valid(b) && strings.HasPrefix(strings.TrimSpace(string(b)), "{") {
			return string(b), true
		}
	}
	if json.Valid([]byte(v)) && strings.HasPrefix(strings.TrimSpace(v), "{") {
		return v, true // some APIs send the JSON itself
	}
	return "", false
}
