package msalcache

import (
	"encoding/json"
	"testing"
)

// FuzzScannerValue: the scanner accepts only what encoding/json accepts, and
// agrees on where a string holds escapes or non-ASCII bytes.
func FuzzScannerValue(f *testing.F) {
	for _, s := range []string{`{"a":[1,-0.5e+3,true,false,null,"x\u00e9\n"]}`, `"abcdefghijklmnopq\"rs"`,
		`01`, `1.`, `-`, `"\x"`, `"\u12"`, `{"a" 1}`, `[1,]`, `"` + "\x01" + `"`, `"héllo wörld, long enough"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := scanner{b: b}
		ok := s.value()
		s.ws()
		if ok && s.i == len(b) && !json.Valid(b) {
			t.Fatalf("scanner accepted %q; encoding/json does not", b)
		}
		s = scanner{b: b}
		if raw, plain, ok := s.str(); ok && plain {
			var v string
			if json.Unmarshal(raw, &v) != nil || v != string(raw[1:len(raw)-1]) {
				t.Fatalf("plain string %q decodes to %q", raw, v)
			}
		}
	})
}

func TestScannerStrings(t *testing.T) {
	for _, tc := range []struct {
		in           string
		plain, valid bool
	}{
		{`"0123456789abcdef0123456789"`, true, true},
		{`"0123456789abcdef\"0123456789"`, false, true},
		{`"0123456789abcdef` + "\x7f" + `x"`, true, true},
		{`"0123456789abcdef` + "\x1f" + `x"`, false, false},
		{`"0123456789abcdef` + "\xc3\xa9" + `"`, false, true},
		{`"0123456789abcdef`, false, false},
	} {
		s := scanner{b: []byte(tc.in)}
		_, plain, ok := s.str()
		if ok != tc.valid || ok && plain != tc.plain {
			t.Errorf("str(%q) = plain %v, ok %v; want plain %v, ok %v", tc.in, plain, ok, tc.plain, tc.valid)
		}
	}
}
