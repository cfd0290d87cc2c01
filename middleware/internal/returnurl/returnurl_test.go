package returnurl

import "testing"

func TestValid(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"/", true},
		{"/mail", true},
		{"/mail?folder=inbox&x=1", true},
		{"/a/b/c?q=a%2Fb#frag", true},
		{"/search?q=hello+world", true},
		{"/caf%C3%A9", true},
		{"", false},
		{"mail", false},
		{"//evil.test", false},
		{"//evil.test/path", false},
		{`/\evil.test`, false},
		{`\\evil.test`, false},
		{`\/evil.test`, false},
		{"https://evil.test", false},
		{"http://evil.test/", false},
		{"javascript:alert(1)", false},
		{"%2F%2Fevil.test", false},
		{"%2f%2fevil.test", false},
		{"/%2F/evil.test", false},
		{"/%2Fevil.test", false},
		{"/%5Cevil.test", false},
		{"/%5cevil.test", false},
		{"%5C%5Cevil.test", false},
		{"/%252F%252Fevil.test", false},
		{"/%25252F%25252Fevil.test", false},
		{"/\r\nLocation: https://evil.test", false},
		{"/%0d%0aSet-Cookie:x=y", false},
		{"/\tevil", false},
		{"/x\x00", false},
		{"/%00", false},
		{"/ok?next=%5C", false},
		{"/%zz", false},
		{"///evil.test", false},
		{"/" + string(make([]byte, MaxLen)), false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Valid(tt.in); got != tt.want {
				t.Errorf("Valid(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestOr(t *testing.T) {
	if got := Or("//evil.test", "/"); got != "/" {
		t.Errorf("Or = %q, want /", got)
	}
	if got := Or("/mail?x=1", "/"); got != "/mail?x=1" {
		t.Errorf("Or = %q", got)
	}
}
