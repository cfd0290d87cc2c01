package msalcache

import "testing"

// TestResetDropsTheDocument: a pooled document keeps no reference to the
// decrypted cache document it read (its secrets included) once reset.
func TestResetDropsTheDocument(t *testing.T) {
	doc := []byte(`{"AccessToken":{"k1":{"home_account_id":"h","secret":"at-secret"}},` +
		`"IdToken":{"k2":{"home_account_id":"h","secret":"id-secret"}},"RefreshToken":{}}`)
	var d document
	d.parse(doc)
	if len(d.at) == 0 || len(d.idt) == 0 {
		t.Fatalf("parse kept %d access and %d ID token entries, want 1 each", len(d.at), len(d.idt))
	}
	d.reset()
	for _, list := range [][]entry{d.at[:cap(d.at)], d.idt[:cap(d.idt)]} {
		for i := range list {
			e := &list[i]
			if e.key != nil {
				t.Errorf("entry %d still holds its key %q after reset", i, e.key)
			}
			for slot, v := range e.text {
				if v != nil {
					t.Errorf("entry %d still holds field %d (%q) after reset", i, slot, v)
				}
			}
		}
	}
	if d.s.b != nil {
		t.Errorf("scanner still holds the document after reset")
	}
}
