package entraerr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

func callErr(status int, body string) error {
	resp := &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(body))}
	return fmt.Errorf("wrapped: %w", msalerrors.CallErr{Resp: resp, Err: errors.New("http call failed")})
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Kind
		code int
	}{
		{"consent required", callErr(400, `{"error":"invalid_grant","error_description":"AADSTS65001: The user or administrator has not consented.\r\nTrace ID: x","error_codes":[65001],"suberror":"consent_required"}`), NeedsUser, 65001},
		{"mfa", callErr(400, `{"error":"invalid_grant","error_codes":[50076]}`), NeedsUser, 50076},
		{"interaction", callErr(400, `{"error":"interaction_required","error_description":"AADSTS50079: x"}`), NeedsUser, 50079},
		// prompt=none with several accounts signed in and no hint to pick one
		// (https://learn.microsoft.com/entra/identity-platform/msal-js-sso#without-user-hint).
		{"account to pick", callErr(400, `{"error":"interaction_required","error_codes":[16000]}`), NeedsUser, 16000},
		{"code in text only", callErr(400, `{"error":"invalid_request","error_description":"AADSTS70000: bad"}`), NeedsUser, 70000},
		{"bad client", callErr(401, `{"error":"invalid_client","error_codes":[7000215]}`), Unavailable, 7000215},
		{"server 500", callErr(500, `{"error":"server_error","error_codes":[90033]}`), Unavailable, 90033},
		{"503 no body", callErr(503, ``), Unavailable, 0},
		{"throttled", callErr(429, `{"error":"invalid_grant"}`), Unavailable, 0},
		{"no token", errors.New("no token found"), NeedsUser, 0},
		{"declined", errors.New("token response failed because declined scopes are present: Mail.Read"), NeedsUser, 0},
		{"store down", errors.New("tokencache: redis: connection refused"), Unavailable, 0},
		{"timeout", fmt.Errorf("x: %w", context.DeadlineExceeded), Unavailable, 0},
		{"canceled", context.Canceled, Canceled, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, e := Classify(tt.err)
			if k != tt.want {
				t.Errorf("kind = %v, want %v", k, tt.want)
			}
			if tt.code != 0 && (e == nil || e.AADSTS() != tt.code) {
				t.Errorf("entra error = %+v, want code %d", e, tt.code)
			}
		})
	}
}

func TestFromQuery(t *testing.T) {
	q := url.Values{"error": {"access_denied"}, "error_description": {"AADSTS65004: User declined to consent.\r\nTrace ID: 1"}, "error_subcode": {"cancel"}}
	e := FromQuery(q)
	if e == nil || e.Code != "access_denied" || e.AADSTS() != 65004 || e.Subcode != "cancel" || !e.HasCode(65004) {
		t.Fatalf("FromQuery = %+v", e)
	}
	if e.Summary() != "AADSTS65004: User declined to consent." {
		t.Errorf("Summary = %q", e.Summary())
	}
	if FromQuery(url.Values{"code": {"x"}}) != nil {
		t.Error("FromQuery without error != nil")
	}
}
