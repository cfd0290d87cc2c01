package returnurl

import (
	"net/url"
	"testing"
)

// FuzzValid checks the property redirects rely on: whatever Valid accepts,
// resolved against the app's origin as a browser would, stays on that origin.
func FuzzValid(f *testing.F) {
	for _, s := range []string{"/", "/mail?x=1", "//evil.test", `/\evil.test`, "/%2F%2Fevil.test",
		"https://evil.test", "/%5Cevil.test", "/a/../..//evil.test", "/\t/evil.test", "/%09/evil.test"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://app.example/some/page")
	f.Fuzz(func(t *testing.T, s string) {
		if !Valid(s) {
			if Or(s, "/") != "/" {
				t.Fatalf("Or(%q) did not fall back", s)
			}
			return
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("Valid(%q) but url.Parse fails: %v", s, err)
		}
		if got := base.ResolveReference(u); got.Scheme != "https" || got.Host != "app.example" {
			t.Fatalf("Valid(%q) leaves the origin: %s", s, got)
		}
		if dec, err := url.PathUnescape(s); err == nil && len(dec) > 1 && (dec[1] == '/' || dec[1] == '\\') {
			t.Fatalf("Valid(%q) decodes to a network-path reference %q", s, dec)
		}
	})
}
