package scope

import (
	"strings"
	"testing"
)

func TestRoute(t *testing.T) {
	good := [][]string{
		{"User.Read"},
		{"Mail.Read", "https://graph.microsoft.com/User.Read"},
		{"api://1234/access_as_user", "api://1234/Files.Read"},
	}
	for _, s := range good {
		if _, _, err := Route(s); err != nil {
			t.Errorf("Route(%q): %v", s, err)
		}
	}
	bad := [][]string{
		nil, {""}, {"Mail.Read Mail.Send"}, {"openid"}, {"Mail.Read", "mail.read"},
		{"User.Read", "api://1234/access"}, {"api://a/x", "api://b/y"}, {"api://a/"},
	}
	for _, s := range bad {
		if _, _, err := Route(s); err == nil {
			t.Errorf("Route(%q) = nil error", s)
		}
	}
	_, k1, _ := Route([]string{"Mail.Read", "User.Read"})
	_, k2, _ := Route([]string{"user.read", "Mail.Read"})
	if k1 != k2 || strings.ContainsAny(k1, "MU") {
		t.Errorf("keys %q %q", k1, k2)
	}
}

func TestKeyNormalisesGraphSpellings(t *testing.T) {
	tests := []struct {
		name string
		a, b []string
		same bool
	}{
		{"short and URI", []string{"User.Read"}, []string{"https://graph.microsoft.com/User.Read"}, true},
		{"URI upper case", []string{"User.Read"}, []string{"HTTPS://Graph.Microsoft.com/user.read"}, true},
		{"Graph app id", []string{"Mail.Read", "User.Read"}, []string{"00000003-0000-0000-C000-000000000000/User.Read", "mail.read"}, true},
		{"US Government Graph", []string{"User.Read"}, []string{"https://graph.microsoft.us/User.Read"}, true},
		{"China Graph", []string{"Mail.Send"}, []string{"https://microsoftgraph.chinacloudapi.cn/Mail.Send"}, true},
		{"other API", []string{"api://1234/User.Read"}, []string{"User.Read"}, false},
		{"other host", []string{"https://graph.example/User.Read"}, []string{"User.Read"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Key(tc.a) == Key(tc.b); got != tc.same {
				t.Errorf("Key(%q)=%q, Key(%q)=%q, same=%v, want %v", tc.a, Key(tc.a), tc.b, Key(tc.b), got, tc.same)
			}
		})
	}
	if _, _, err := Route([]string{"User.Read", "https://graph.microsoft.com/user.read"}); err == nil {
		t.Error("Route accepted one Graph scope spelled twice")
	}
	if r := Resource("00000003-0000-0000-c000-000000000000/User.Read"); r != GraphResource {
		t.Errorf("Resource(Graph app id scope) = %q", r)
	}
	clean, _, _ := Route([]string{"https://graph.microsoft.com/User.Read"})
	if clean[0] != "https://graph.microsoft.com/User.Read" {
		t.Errorf("Route changed the scope sent to Entra: %q", clean)
	}
}
