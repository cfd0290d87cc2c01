package tokencache

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzOpen: no input makes open panic or return anything but a *BlobError,
// and a sealed blob with any one byte changed never opens.
func FuzzOpen(f *testing.F) {
	var k keyring
	if err := k.add("k1", bytes.Repeat([]byte{7}, KeySize)); err != nil {
		f.Fatal(err)
	}
	blob, err := k.seal(nil, "p", []byte(`{"RefreshToken":{}}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(blob, 0)
	f.Add([]byte{1, 2, 'k'}, 1)
	f.Add([]byte(`{}`), 0)
	f.Fuzz(func(t *testing.T, in []byte, flip int) {
		var be *BlobError
		if _, err := k.open("p", in, nil); err != nil && !errors.As(err, &be) {
			t.Fatalf("open error %v is not a *BlobError", err)
		}
		if len(blob) > 0 && flip >= 0 {
			changed := bytes.Clone(blob)
			changed[flip%len(changed)] ^= 0x80
			if _, err := k.open("p", changed, nil); err == nil {
				t.Fatalf("blob with byte %d changed opened", flip%len(changed))
			}
		}
	})
}

// FuzzMerge: any two MSAL-shaped documents merge into valid JSON holding
// every entry key of both.
func FuzzMerge(f *testing.F) {
	f.Add([]byte(`{"AccessToken":{"a":{"cached_at":"1"}}}`), []byte(`{"AccessToken":{"a":{"cached_at":"2"}},"RefreshToken":{"r":{}}}`))
	f.Add([]byte(`{"Account":{"k\"\u00e9":{"x":[1,2]}}}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ours, err1 := parseDoc(a)
		theirs, err2 := parseDoc(b)
		if err1 != nil || err2 != nil {
			return
		}
		want := map[string]int{}
		for _, d := range []msalDoc{ours, theirs} {
			for name, sec := range d {
				for k := range sec {
					want[name+"\x00"+k]++
				}
			}
		}
		merged := merge(cloneDoc(ours), theirs)
		dropExpired(merged, time.Unix(0, 0))
		out := merged.marshal()
		back, err := parseDoc(out)
		if err != nil {
			t.Fatalf("merged document %q is not valid: %v", out, err)
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON %q", out)
		}
		for key := range want {
			name, k, _ := bytes.Cut([]byte(key), []byte{0})
			if _, ok := back[string(name)][string(k)]; !ok {
				t.Fatalf("entry %q of section %q lost in merge", k, name)
			}
		}
	})
}
