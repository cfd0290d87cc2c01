package middleware

import (
	"maps"
	"testing"
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
