// Package azcred gives the Azure SDK for Go and the Microsoft Graph SDK for
// Go the middleware's tokens: an azcore.TokenCredential bound to the user
// signed in on a request (ForRequest) or to an account outside any request
// (ForAccount). It is a package of its own so that apps that do not use
// those SDKs do not build azcore.
//
// Inside a handler:
//
//	client, err := msgraphsdk.NewGraphServiceClientWithCredentials(
//		azcred.ForRequest(mw, r), []string{"User.Read"})
//	if err != nil { ... }
//	me, err := client.Me().Get(r.Context(), nil)
//	if mw.Challenge(w, r, err) {
//		return // consent for User.Read, then back to this request
//	}
//
// A token that needs the user fails with the middleware's *ConsentError
// (errors.Is(err, middleware.ErrInteractionRequired)), and a claims
// challenge the SDK passes on with *middleware.ClaimsChallengeError; the
// SDKs return them wrapped, errors.As finds them, and mw.Challenge takes
// them as they come. Scopes are the middleware's: short Graph names
// ("User.Read"), full URIs, or "https://graph.microsoft.com/.default" (every
// permission the user granted the app).
package azcred
