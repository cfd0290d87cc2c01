package middleware_test

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware"
)

// TestEncodedSessionKeyHint: a session key passed as its base64 or hex text
// (what openssl rand prints) gets an error that says to decode it.
func TestEncodedSessionKeyHint(t *testing.T) {
	e := newEnv(t)
	raw := []byte("0123456789abcdef0123456789abcdef")
	for _, tc := range []struct {
		name string
		keys [][]byte
		hint string
	}{
		{"base64 hash key (44 bytes)", [][]byte{[]byte(base64.StdEncoding.EncodeToString(raw))}, "base64"},
		{"base64 block key", [][]byte{raw, []byte(base64.StdEncoding.EncodeToString(raw))}, "base64"},
		{"hex block key", [][]byte{raw, []byte(hex.EncodeToString(raw[:24]))}, "hex"},
		{"short random key", [][]byte{raw[:20]}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := e.cfg
			cfg.SessionKeys = tc.keys
			_, nerr := middleware.New(cfg)
			if nerr == nil {
				t.Fatal("New accepted a key of the wrong size")
			}
			if got := strings.Contains(nerr.Error(), "decode it first"); got != (tc.hint != "") || !strings.Contains(nerr.Error(), tc.hint) {
				t.Errorf("error %q, want a hint %q", nerr, tc.hint)
			}
		})
	}
}
