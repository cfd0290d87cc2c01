package middleware

import "testing"

// TestIDPNamesTenant: a guest's idp claim names its home tenant as the
// first path segment of an https STS URL, or as "live.com" for a personal
// account (https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference).
func TestIDPNamesTenant(t *testing.T) {
	const home = "33333333-3333-3333-3333-333333333333"
	tests := []struct {
		idp, utid string
		want      bool
	}{
		{"https://sts.windows.net/" + home + "/", home, true},
		{"https://sts.windows.net/" + home + "/", "33333333-3333-3333-3333-333333333334", false},
		{"https://sts.windows.net/" + home + "/", "sts.windows.net", false},
		{"https://sts.windows.net/" + home + "/", "", false},
		{"http://sts.windows.net/" + home + "/", home, false},
		{"live.com", consumersTenant, true},
		{"live.com", home, false},
		{"", home, false},
	}
	for _, tc := range tests {
		if got := idpNamesTenant(tc.idp, tc.utid); got != tc.want {
			t.Errorf("idpNamesTenant(%q, %q) = %v, want %v", tc.idp, tc.utid, got, tc.want)
		}
	}
}
