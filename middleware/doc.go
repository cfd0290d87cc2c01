// Package middleware makes incremental consent with Microsoft Entra ID a
// one-line affair for net/http apps: declare the scopes each route needs, and
// the middleware gets a token silently or sends the browser to Entra for just
// the missing scopes, then resumes the original request with the token in its
// context.
//
//	mw, err := middleware.New(middleware.Config{
//		Authority:   "https://login.microsoftonline.com/organizations", // multi-tenant; single-tenant: the tenant id
//		ClientID:    clientID,
//		Credential:  cred, // confidential.NewCredFromSecret(secret)
//		RedirectURL: "https://app.example/auth/callback",
//		SessionKeys: [][]byte{hashKey32, blockKey32},
//		Cache:       cache, // tokencache.New(redisstore.New(rdb), tokencache.WithKey(id, key)); nil: in memory
//	})
//	mux.Handle("/auth/", mw.AuthHandler())                   // sign-in, callback, sign-out
//	mux.Handle("GET /mail", mw.Require("Mail.Read")(mailPage)) // per-route scopes
//
// and in the handler:
//
//	tok, _ := middleware.TokenFromContext(r.Context())
//	tok.SetAuthHeader(graphRequest)
//
// # Map of the package
//
// The path of a request, file by file:
//
//	config.go, middleware.go  New validates Config, builds the Middleware (MSAL client
//	                          pool: clientpool.go, stores, Close); keyhint.go explains encoded keys;
//	                          entralimits.go bounds Entra's answers and the pool's hung calls,
//	                          redact.go keeps tokens out of MSAL's errors
//	resumeforms.go            (optional, outermost) a kept form restored before the app's own middleware
//	require.go                Require / RequireAdmin wrap a handler; serveRoute runs:
//	  replay.go               a re-post of a form kept across a round trip gets its body back
//	  hot.go                  fast path: session cookie and route to a token in process memory
//	                          (routeset.go: one entry per cookie or account, all its routes)
//	  session.go              else the session cookie is decoded: who is signed in
//	                          (appsession.go: or the app's own session; cookies.go: names;
//	                          memo.go: what is memoized, memoexpiry.go: for how long;
//	                          revoke.go: signed out on any replica;
//	                          sessioncodec.go: how the cookie's values are written)
//	  cold.go                 else the route's token read straight from the shared cache
//	  require.go              else MSAL's silent acquisition, once per user and scopes
//	  retry.go                (Entra faults and timeouts are tried again)
//	  context.go              the handler runs with Token and Account in its context
//	require.go                when the user is needed: a script gets 401 JSON, a page goes on
//	  origin.go               which tells a script from a page, the app's pages from another site
//	  mount.go                the URL as the browser sent it (prefixes)
//	  scripts.go              the script's page to return to, Bearer and htmx headers
//	flow.go                   a round trip to Entra: loop guard (loopguard.go), flow record,
//	                          flow cookie, authorize or admin-consent URL (frontchannel.go);
//	                          flowstore.go, flowpool.go: where flows and kept forms live;
//	                          bodytime.go: the deadline of a kept body's read
//	authhandler.go            AuthHandler's endpoints and the URLs that lead to them
//	                          (declared.go: the scopes their links may ask for)
//	callback.go               Entra's answer: state, code, ID token (idtoken.go), session, back to the page
//	admin.go, tenant.go       admin consent and tenant onboarding, checked on the back channel
//	                          (tenantlimit.go: rationed per tenant)
//	replay.go                 the resume page re-posts a kept form to its route
//	errors.go, pages.go       every failure: its sentinel, status and page; layout.go: Page,
//	                          drawn by Config.RenderPage, the stylesheet and resume script
//	logs.go                   what routine round trips log (DEBUG), scopes in one casing
//
// Beside the request path: apptoken.go (app-only tokens), claims.go (an
// API's claims challenge: Transport, Client, Challenge), signout.go,
// consentstatus.go (what a tenant granted against what routes declare),
// registration.go (the startup check UnlistedScopes), graphdirectory.go
// (reading service principals and grants through Graph);
// token.go (Token: any scopes in any handler), challenge.go (Challenge's
// round trip for a claims challenge or a Token that needs the user),
// tokensource.go (oauth2.TokenSource), background.go (AccountToken, outside
// requests), idclaims.go and onsignin.go (the ID token's claims,
// Config.OnSignIn), switchaccount.go (the account picker), credentials.go,
// envconfig.go and clouds.go (credentials without secrets, the AZURE_*
// variables, national clouds). Package azcred adapts Token to azcore.
// Protocol details live under internal/: entraerr (every Entra error code),
// scope (scope spellings, resources, a route's scope set), protocol (PKCE,
// authorize parameters, JWT claims, bearer challenges), sealed
// (records sealed by tokencache/seal in a tokencache.Store) and flowstore
// (pending sign-ins, on sealed), hotcache (the in-process caches), flight
// (one call per key), returnurl (return URLs on the origin).
//
// # A request's path
//
// Require reads the session (a gorilla/sessions cookie by default holding who
// is signed in and ids, never tokens). With an access token for the route's
// scopes in the in-process cache, valid for more than RefreshMargin, the
// handler runs at once: no MSAL call, no network. Otherwise MSAL's
// AcquireTokenSilent runs (its cache is the tokencache.Cache, shared by
// replicas; a refresh token may be redeemed), once per user and scope set
// however many requests wait for it. If that needs the user (not signed in,
// consent missing, MFA, an expired refresh token), a browser is redirected to
// Entra's authorize endpoint for the route's scopes plus openid, profile and
// offline_access, with login_hint and domain_hint so no account picker shows,
// with state, nonce and PKCE (S256), and with the claims Conditional Access
// asked for when it refused the refresh (without them the user would loop).
// Scripts get 401 with JSON instead (see Require). A failure of Entra or of
// the token store is a 503 page, never a redirect, so an outage cannot turn
// into a consent loop.
//
// # The round trip
//
// The pending sign-in (state, nonce, PKCE verifier, scopes, return URL) is
// sealed with a key derived from SessionKeys and kept in Config.FlowStore for
// FlowTTL, so the callback may land on any replica sharing the keys and the
// store. What anonymous requests write (flows, kept forms, loop counters) must
// never evict tokens, so it goes to Config.FlowStore: in one process a bounded
// in-memory store of its own by default, which refuses (503) new anonymous
// flows and kept forms when their share is spent rather than evict a sign-in
// under way or a signed-in user's flow; with Redis, a Redis server of its own
// (a separate redis-server, not a database number, as databases share one
// maxmemory):
//
//	flow Redis:  maxmemory 256mb, maxmemory-policy allkeys-lru   (a flood evicts old pending flows only)
//	token Redis: maxmemory-policy noeviction                     (token partitions carry TTLs: volatile-* would evict them)
//
// Left unset with a Redis token cache, FlowStore is that Redis (New logs a
// warning): then only noeviction keeps the tokens, and a flood that fills the
// memory makes new sign-ins fail (503) until its flows expire. A session holds
// at most four pending flows; an older one is deleted, with its kept form,
// when a fifth starts. It is bound to the browser session and single use:
// forged, replayed, expired and cross-session states end on a 400 page, and a
// callback from another browser that knows a state leaves its flow to the
// browser that started it (the binding is checked before the flow is used up).
// A session without a signed-in account also gets, per flow, a cookie of its
// own (named SessionName_f_<flow id>, holding a hash of the flow's binding id
// and state; scoped to the callback path over http): two tabs of a new browser
// starting flows at once, whose session cookies overwrite each other, and
// flows started before a first sign-in renewed the session both complete. The
// binding is never inferred from timing, addresses or User-Agent, so a flow
// another browser started is refused (no login CSRF). Over https the flow
// cookies, and the session cookie of the default cookie store with BasePath /,
// carry the __Host- prefix (Secure, Path=/, no Domain), so a site on a sibling
// subdomain cannot plant its own session or flow in the user's browser (cookie
// tossing). The callback redeems the code with the verifier and verifies the
// ID token with go-oidc against the authority's OpenID configuration:
// signature (jwks_uri), aud, iss (for organizations and common, the issuer of
// the token's tid), exp, nbf and iat within five minutes of Config.Now, the
// flow's nonce, and that client_info's account is the token's user. It then
// records the account in the session and redirects (303) to the original URL,
// which must be a path on the app's origin.
//
// Errors Entra sends back (the user declined, an administrator must approve,
// ...) end on a page from Config.ErrorHandler that says what happened and what
// the user can do; it never redirects. Callers branch on the sentinels
// (ErrConsentDeclined, ErrAdminConsentRequired, ...) with errors.Is and read
// the protocol fields with errors.As into a *ConsentError.
//
// # Administrators, customer tenants, claims challenges, form posts
//
// Admin consent. When Entra answers that only an administrator can grant a
// route's scopes (AADSTS90094 and kin; on RequireAdmin routes also a
// non-admin's access_denied), the user gets a page naming the permissions,
// with a link for their administrator (ConsentError.AdminConsentURL, served by
// AuthHandler's /auth/adminconsent) and a "Try again" link. A user whom the
// tenant does not allow to consent sees Entra's "Need admin approval" page,
// and its way back to the app sends what a decline sends (access_denied,
// AADSTS65004). The middleware cannot tell the two apart, so the page of
// ErrConsentDeclined says a decline is fine and offers both ways on: "Try
// again" and the link for an administrator, for exactly the route's scopes. An administrator
// who opens it approves the scopes for the organization at Entra's
// adminconsent endpoint; its callback is checked like a sign-in's (state
// single use, expiring, bound to the browser session) and resumes the request.
// RequireAdmin sends a signed-in admin (Config.IsAdmin) there directly.
//
// Customer tenants. ConnectURL (/auth/connect) sends a tenant's admin through
// admin consent for Config.ConnectScopes and records the tenant (Onboarded).
// The callback's admin_consent=True&tenant=... is only a hint: before
// recording anything the middleware checks that a signed-in user belongs to
// that tenant and asks Entra for an app-only token for it, refusing the
// callback when the app is not in the tenant or the token lacks
// Config.ConnectRoles (a cached token with the roles will do; otherwise one
// request to the token endpoint, not retried, so forged callbacks can
// neither evict cached app tokens nor get the app throttled; and at most
// five a minute per tenant named, beyond which callbacks get a 503 page).
// Scopes granted through /auth/adminconsent are
// remembered for RequireAdmin only when the signed-in admin then gets a token
// for them silently.
// Config.AllowedTenants and Config.RequireOnboarding decide whose users may
// sign in at all; a refused user's tokens are dropped. AppToken gets app-only
// tokens per tenant and returns an *AppConsentError carrying the connect URL
// when the tenant has not granted the application permissions.
//
// Claims challenges. Client and Transport call an API with the route's token;
// a 401 with error="insufficient_claims" becomes a *ClaimsChallengeError, and
// Challenge sends the user through Entra with those claims and back; a form
// POST is kept across that round trip like one that needed consent (below),
// up to MaxChallengeBody (64 KiB): Require copies that much of every POST
// from the app's pages as the handler reads it, in case it calls Challenge.
// Claims challenges of continuous access evaluation (CAE) reach only clients
// that declared "cp1": set Config.ClientCapabilities to []string{"cp1"} to
// receive them (without it, Graph keeps accepting the token until it expires).
// AppToken retries Entra faults (5xx, timeouts) like silent refreshes; after
// Close, AppToken, Client and Transport fail with ErrClosed.
//
// Consent status. ConsentStatus reads, through Graph with the app's own
// token, a tenant's oAuth2PermissionGrants and says for every permission the
// routes declare whether it is granted tenant-wide, by some users only, or
// missing, and whether it needs an administrator (and, from the app's
// appRoleAssignments, which Config.ConnectRoles are granted); AdminConsentURLs asks an
// administrator for exactly the missing ones. UnlistedScopes, run once at
// startup, names declared permissions the app registration does not list
// (admin consent to /.default does not cover them). Both need the Graph
// application permission Directory.Read.All (ReadGrantsPermission); without
// it they return a *ConsentStatusError (ErrGrantsUnreadable).
//
// Sign-out. AuthHandler signs out only requests from the app's own pages
// (Sec-Fetch-Site same-origin or none, else an Origin or Referer on
// RedirectURL's origin); a link or form from another site gets a page with
// a sign-out button instead, so it cannot sign the user out. Sign-out ends
// the session on every replica: it records the session as revoked in the
// token cache's Store, which a replica reads when it decodes a signed-in
// cookie (at most once a minute per cookie, never on the fast path), so a
// copy of the cookie stops working everywhere within a minute.
//
// Form posts. A POST that needs sign-in or consent is kept server-side
// (sealed, in Config.FlowStore, single use, bound to the session, at most
// Config.MaxResumeBody bytes, MaxAnonymousResumeBody (16 KiB) without a
// signed-in user; larger ones get a 413 page before leaving),
// but only when it comes from the app's own pages, judged like sign-out
// (Sec-Fetch-Site same-origin or none, else Origin or Referer on
// RedirectURL's origin). Another site's form (whose SameSite=Lax session
// cookie stayed behind) is never kept nor replayed: it gets a 403 page
// asking to send the form again from the app (ErrCrossSiteForm), and so does
// Challenge on such a post.
// After the callback the browser lands on /auth/resume, which posts once more
// to the original URL; the handler then sees the original body, exactly once.
//
// Loops. The browser-facing URLs come from the authority's discovery document.
// A session whose round trips to Entra for the same scopes come back
// Config.MaxAttempts times within FlowTTL without what the route needs
// (declined, failing, tokens without the scopes, a claims challenge again)
// gets a page (ErrLoopDetected), not a fourth round trip. Outages (503) do
// not count, and a successful flow resets the count.
//
// # Tokens outside Require
//
// Token gets a token for any scopes inside any handler (the in-process
// cache, then MSAL silently, deduplicated and retried like Require); when it
// needs the user its *ConsentError goes to Challenge, which sends a browser
// through consent for just those scopes and back to the request. A page may
// call several APIs this way, one consent each. TokenSource adapts it to
// golang.org/x/oauth2 and package azcred to azcore.TokenCredential for the
// Microsoft Graph and Azure SDKs. AccountToken gets a token for an account
// outside any request, from the shared token cache and the refresh token,
// and never redirects. Config.OnSignIn sees the ID token's claims at
// sign-in and may refuse it; SwitchAccountURL signs in through Entra's
// account picker; ConfigFromEnv reads the AZURE_* variables azidentity
// reads, certificates and federated tokens included.
//
// # Fitting an app
//
// Prefixes. An app mounted under a path (http.StripPrefix, chi's Mount, a
// gorilla/mux subrouter) gives its public callback as RedirectURL; every URL
// the middleware shows the browser keeps the prefix (Config.BasePath, by
// default the directory above AuthHandler's), read from the request line as
// the browser sent it.
//
// Scripts and htmx. A script's 401 names a sign-in URL that returns to the
// page the script runs on (htmx's HX-Current-URL, else the Referer), carries
// RFC 6750's Bearer challenge, and for htmx an HX-Redirect.
//
// CSRF middleware. A token-checking middleware (gorilla/csrf) in front of
// the app sees the resume page's re-post with the kept form's fields when
// the app wraps everything in ResumeForms; http.CrossOriginProtection needs
// nothing.
//
// Look and session. Config.RenderPage draws the middleware's pages (a Page:
// status, title, message, links, form) in the app's layout; none holds inline
// script or style. Config.AppSession keeps the middleware's session values in
// the app's own session.
//
// # A whole program
//
//	package main
//
//	import (
//		"fmt"
//		"log"
//		"net/http"
//		"os"
//		"time"
//
//		"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
//
//		"github.com/consentry/consentry/middleware"
//	)
//
//	func main() {
//		cred, err := confidential.NewCredFromSecret(os.Getenv("CLIENT_SECRET"))
//		if err != nil {
//			log.Fatal(err)
//		}
//		mw, err := middleware.New(middleware.Config{
//			Authority:   "https://login.microsoftonline.com/organizations",
//			ClientID:    os.Getenv("CLIENT_ID"),
//			Credential:  cred,
//			RedirectURL: "http://localhost:8080/auth/callback",
//			SessionKeys: [][]byte{[]byte(os.Getenv("SESSION_HASH_KEY")), []byte(os.Getenv("SESSION_BLOCK_KEY"))},
//		})
//		if err != nil {
//			log.Fatal(err)
//		}
//		mux := http.NewServeMux()
//		mux.Handle("/auth/", mw.AuthHandler())
//		mux.Handle("GET /profile", mw.Require("User.Read")(http.HandlerFunc(profile)))
//		mux.Handle("GET /mail", mw.Require("Mail.Read")(http.HandlerFunc(mail)))
//		srv := &http.Server{Addr: "localhost:8080", Handler: mux, // slow clients cannot hold connections
//			ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
//			WriteTimeout: 90 * time.Second, IdleTimeout: 2 * time.Minute}
//		log.Fatal(srv.ListenAndServe())
//	}
//
//	func profile(w http.ResponseWriter, r *http.Request) {
//		acct, _ := middleware.AccountFromContext(r.Context())
//		fmt.Fprintf(w, "Hello %s", acct.Name)
//	}
//
//	func mail(w http.ResponseWriter, r *http.Request) {
//		tok, _ := middleware.TokenFromContext(r.Context())
//		req, _ := http.NewRequestWithContext(r.Context(), "GET", "https://graph.microsoft.com/v1.0/me/messages", nil)
//		tok.SetAuthHeader(req)
//		resp, err := http.DefaultClient.Do(req)
//		if err != nil {
//			http.Error(w, "Graph is unreachable", http.StatusBadGateway)
//			return
//		}
//		defer resp.Body.Close()
//		fmt.Fprintf(w, "Graph answered %s", resp.Status)
//	}
package middleware
