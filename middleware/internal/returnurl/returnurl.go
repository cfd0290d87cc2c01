package returnurl

import (
	"net/url"
	"strings"
)

// MaxLen bounds the length of a return URL; longer ones are refused.
const MaxLen = 4096

// maxDecode bounds how many rounds of percent-decoding are checked.
const maxDecode = 4

// Valid reports whether s is a same-origin path (with optional query and fragment)
// that is safe to use as a redirect target. It must start with a single "/", may
// not hold backslashes or control characters, and no percent-decoded form of it
// may start with "//" or "/\" or hold a scheme, host, backslash or control character.
func Valid(s string) bool {
	if s == "" || len(s) > MaxLen || s[0] != '/' {
		return false
	}
	cur := s
	for range maxDecode {
		if !safeForm(cur) {
			return false
		}
		next, err := url.PathUnescape(cur)
		if err != nil {
			return false
		}
		if next == cur {
			break
		}
		cur = next
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && u.Opaque == ""
}

// safeForm checks one (possibly decoded) form of a candidate return URL.
func safeForm(s string) bool {
	if strings.HasPrefix(s, "//") || strings.HasPrefix(s, `/\`) {
		return false
	}
	if strings.ContainsRune(s, '\\') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	// A decoded form that does not start with "/" (e.g. "%2F%2Fevil" -> "//evil"
	// is caught above; "%68ttps:" is caught here) must not look like a scheme.
	if i := strings.IndexAny(s, ":/?#"); i > 0 && s[i] == ':' {
		return false
	}
	return true
}

// Or returns s when it is Valid and fallback otherwise.
func Or(s, fallback string) string {
	if Valid(s) {
		return s
	}
	return fallback
}
