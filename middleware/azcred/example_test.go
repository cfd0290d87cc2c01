package azcred_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/azcred"
)

func newMiddleware() *middleware.Middleware {
	cred, _ := confidential.NewCredFromSecret("secret")
	mw, err := middleware.New(middleware.Config{
		Authority:   "https://login.microsoftonline.com/organizations",
		ClientID:    "00001111-aaaa-2222-bbbb-3333cccc4444",
		Credential:  cred,
		RedirectURL: "https://app.example/auth/callback",
		SessionKeys: [][]byte{[]byte("an example 32-byte hash key!!!!!")},
	})
	if err != nil {
		log.Fatal(err)
	}
	return mw
}

// Give the Microsoft Graph SDK the signed-in user's tokens inside a handler:
//
//	client, _ := msgraphsdk.NewGraphServiceClientWithCredentials(azcred.ForRequest(mw, r), []string{"User.Read"})
//	me, err := client.Me().Get(r.Context(), nil)
//	if mw.Challenge(w, r, err) {
//		return
//	}
//
// Here the credential is called as the SDK calls it, for a visitor who has
// not signed in: the error is the middleware's, for Challenge.
func ExampleForRequest() {
	mw := newMiddleware()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		_, err := azcred.ForRequest(mw, r).GetToken(r.Context(), policy.TokenRequestOptions{Scopes: []string{"User.Read"}})
		if mw.Challenge(w, r, err) {
			return // a browser goes to sign in and consent, then comes back here
		}
		fmt.Fprintln(w, "hello")
	})
	r := httptest.NewRequest("GET", "https://app.example/me", nil)
	r.Header.Set("Accept", "application/json") // a script; a browser would be redirected
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	// Output: 401 application/json
}

// Act for a user in a background job with the Graph SDK:
//
//	client, _ := msgraphsdk.NewGraphServiceClientWithCredentials(azcred.ForAccount(mw, accountID), []string{"Mail.Read"})
//	msgs, err := client.Me().Messages().Get(ctx, nil)
//
// When the user must come back, the error says so; nothing redirects.
func ExampleForAccount() {
	mw := newMiddleware()
	cred := azcred.ForAccount(mw, "00000000-0000-0000-66f3-3332eca7ea81.9188040d-6c67-4c5b-b112-36a304b66dad")
	_, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"Mail.Read"}})
	fmt.Println(errors.Is(err, middleware.ErrInteractionRequired))
	// Output: true
}
