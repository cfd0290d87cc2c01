package azcred_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/azcred"
)

// TestGetTokenErrors: a claims request (a claims challenge the SDK passes
// on) fails with the middleware's *ClaimsChallengeError for its scopes, and
// a user who is not signed in with its *ConsentError.
func TestGetTokenErrors(t *testing.T) {
	mw := newMiddleware()
	r := httptest.NewRequest("GET", "https://app.example/me", nil)
	cred := azcred.ForRequest(mw, r)
	_, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"User.Read"},
		Claims: `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`})
	var cce *middleware.ClaimsChallengeError
	if !errors.As(err, &cce) || cce.Scopes[0] != "User.Read" || cce.Claims == "" {
		t.Errorf("claims: %v, want a *ClaimsChallengeError for User.Read", err)
	}
	_, err = cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"User.Read"}})
	var ce *middleware.ConsentError
	if !errors.As(err, &ce) || !errors.Is(err, middleware.ErrNotSignedIn) {
		t.Errorf("anonymous: %v, want a *ConsentError wrapping ErrNotSignedIn", err)
	}
}
