package msalcache

import (
	"strings"
	"testing"
)

// TestEqualFold: scopesMatch's comparison is MSAL's strings.EqualFold,
// including the non-ASCII letters that fold onto ASCII ones.
func TestEqualFold(t *testing.T) {
	pairs := [][2]string{{"User.Read", "user.read"}, {"User.Read", "User.Reads"}, {"", ""}, {"a", ""},
		{"k", "\u212a"}, {"K", "\u212a"}, {"s", "\u017f"}, {"Mail.Send", "MAIL.SEND"}, {"[", "{"}, {"@", "`"},
		{"https://graph.microsoft.com/User.Read", "https://GRAPH.microsoft.com/user.read"}, {"é", "É"}}
	for _, p := range pairs {
		for _, q := range [][2]string{p, {p[1], p[0]}} {
			if got, want := equalFold(q[0], []byte(q[1])), strings.EqualFold(q[0], q[1]); got != want {
				t.Errorf("equalFold(%q, %q) = %v; strings.EqualFold: %v", q[0], q[1], got, want)
			}
		}
	}
}

func FuzzEqualFold(f *testing.F) {
	f.Add("User.Read", "user.read")
	f.Add("k", "\u212a")
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := equalFold(a, []byte(b)), strings.EqualFold(a, b); got != want {
			t.Fatalf("equalFold(%q, %q) = %v; strings.EqualFold: %v", a, b, got, want)
		}
	})
}
