package middleware

import (
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strconv"
)

// encodedKeyHint explains a session key of the wrong size that is the text
// of a key of a valid size (base64 or hex, as `openssl rand -base64 32` and
// `openssl rand -hex 32` print them): it must be decoded first. It returns ""
// for other keys.
func encodedKeyHint(k []byte) string {
	valid := []int{16, 24, 32, 64}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if d, err := enc.DecodeString(string(k)); err == nil && slices.Contains(valid, len(d)) {
			return "; it looks like base64 text of a " + strconv.Itoa(len(d)) + "-byte key: decode it first (base64.StdEncoding.DecodeString)"
		}
	}
	if d, err := hex.DecodeString(string(k)); err == nil && slices.Contains(valid, len(d)) {
		return "; it looks like hex text of a " + strconv.Itoa(len(d)) + "-byte key: decode it first (hex.DecodeString)"
	}
	return ""
}
