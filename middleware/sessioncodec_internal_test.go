package middleware

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
)

// TestSessionCodecRoundTrip: string values come back as they went in,
// compactly; other values go through gob and come back too.
func TestSessionCodecRoundTrip(t *testing.T) {
	for _, in := range []map[any]any{
		{},
		{"acct": "oid.tid", "user": "adele@contoso.example", "roles": "", "name": "Adèle \x00|"},
		{"_flash": []any{"x"}, "acct": "oid.tid"},
	} {
		b, err := sessionCodec{}.Serialize(in)
		if err != nil {
			t.Fatal(err)
		}
		out := map[any]any{}
		if err := (sessionCodec{}).Deserialize(b, &out); err != nil {
			t.Fatalf("%v: %v", in, err)
		}
		if len(out) != len(in) || out["acct"] != in["acct"] || out["name"] != in["name"] {
			t.Errorf("round trip of %v: %v", in, out)
		}
	}
}

// FuzzSessionCodec: any value is read without panicking, and one that reads
// as compact is written back the same.
func FuzzSessionCodec(f *testing.F) {
	b, _ := sessionCodec{}.Serialize(map[any]any{"acct": "oid.tid", "user": "u"})
	f.Add(b)
	f.Add([]byte{compactMarker, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{compactMarker, 3, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		out := map[any]any{}
		if (sessionCodec{}).Deserialize(b, &out) != nil || len(b) == 0 || b[0] != compactMarker {
			return
		}
		again, err := sessionCodec{}.Serialize(maps.Clone(out))
		if err != nil {
			t.Fatal(err)
		}
		back := map[any]any{}
		if err := (sessionCodec{}).Deserialize(again, &back); err != nil || !maps.Equal(back, out) {
			t.Fatalf("%v then %v: %v", out, back, err)
		}
	})
}

// TestDefaultStoreWritesCompact: the default cookie store writes a session of
// strings compactly, not with gob, under every key pair of SessionKeys (the
// current one and those kept for rotation), so that decoding it is cheap.
func TestDefaultStoreWritesCompact(t *testing.T) {
	keys := [][]byte{bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 64), nil}
	cs := newCookieStore(&settings{Config: Config{SessionKeys: keys, SessionMaxAge: time.Hour}})
	if len(cs.Codecs) != 2 {
		t.Fatalf("%d codecs, want 2", len(cs.Codecs))
	}
	for i, c := range cs.Codecs {
		v, err := c.Encode("s", map[any]any{"acct": "oid.tid"})
		if err != nil {
			t.Fatal(err)
		}
		var raw rawValue
		dec := securecookie.New(keys[2*i], keys[2*i+1])
		dec.SetSerializer(&raw)
		if err := dec.Decode("s", v, &map[any]any{}); err != nil {
			t.Fatal(err)
		}
		if len(raw) == 0 || raw[0] != compactMarker {
			t.Errorf("key pair %d: the session is written as % x, want the compact encoding", i, []byte(raw))
		}
	}
}

// rawValue is a securecookie.Serializer that keeps the bytes it is given.
type rawValue []byte

func (r *rawValue) Serialize(any) ([]byte, error) { return nil, errors.New("rawValue only reads") }

func (r *rawValue) Deserialize(b []byte, _ any) error { *r = slices.Clone(b); return nil }
