// Package entratest is an in-process emulator of Microsoft Entra ID's v2.0
// endpoints that enforces consent the way Entra does, for tests that must not
// reach the internet.
//
// Like httptest.Server, NewServer starts a TLS server on loopback; URL, Client
// and Close work the same way. A real MSAL Go confidential client works
// against it when created with confidential.WithHTTPClient(srv.Client()),
// confidential.WithInstanceDiscovery(false) and the authority
// srv.Authority(tenantID) (or srv.Authority("organizations")).
//
// # A plain-HTTP front channel for demos
//
// A person clicking through a demo in a real browser would meet a certificate
// warning at https://127.0.0.1:port. WithPlainHTTPFrontChannel (local demos
// only) also serves the pages a browser visits (authorize, sign-in and consent
// forms, adminconsent, logout) on a plain-HTTP loopback listener at
// FrontChannelURL, and discovery advertises authorization_endpoint and
// end_session_endpoint there; MSAL's AuthCodeURL follows discovery. The back
// channel (discovery, token, JWKS, Graph) stays on TLS at URL. There the
// emulator's session cookie is entratest_session_http (not Secure,
// SameSite=Lax); a logout at either origin ends it. WithFrontChannelAddr fixes
// the front channel's port.
//
// # Directory
//
// Test code sets up tenants (AddTenant), users (AddUser) and app registrations
// (AddApp), and may grant delegated permissions (GrantDelegated: for one user
// or, with principal "", for all users as admin consent does) and Graph
// application roles (GrantAppRoles). Microsoft Graph's published permission
// list is built in (graph_permissions.tsv: every delegated permission with
// its id and whether it needs an admin, and every application permission).
// Apps may expose their own scopes (App.ExposedScopes, requested as
// "api://{clientID}/{value}").
//
// A tenant's user consent setting (Tenant.UserConsent, SetUserConsentPolicy)
// is one of Entra's three: UserConsentAllApps (the emulator's default, so that
// tests see consent pages), UserConsentVerifiedLowImpact (Microsoft's default
// for new tenants: users may grant the tenant's low-impact permissions,
// Tenant.LowImpact, to apps of verified publishers, App.VerifiedPublisher, and
// to apps of their own tenant) and UserConsentNone. A user who may not grant a
// permission sees "Need admin approval" with AADSTS90093 (tenant policy) or
// AADSTS90094 (a permission only an admin can grant); its way back to the app
// sends error=access_denied with AADSTS65004, exactly what a decline sends.
//
// # Endpoints
//
//   - /{tenant}/v2.0/.well-known/openid-configuration and
//     /{tenant}/discovery/v2.0/keys (tenant: id, domain, "organizations", "common")
//   - /{tenant}/oauth2/v2.0/authorize: sign-in page (the account picker when
//     several accounts are signed in and nothing says which), consent page
//     listing only the permissions not yet granted, "Need admin approval",
//     prompt=none|login|consent|select_account|admin_consent, login_hint,
//     domain_hint, claims (acrs and xms_cc), nonce, state, PKCE (S256 or
//     plain); response_mode query, fragment or form_post.
//   - /{tenant}/oauth2/v2.0/token: authorization_code, refresh_token and
//     client_credentials (scope optional at redemption and refresh), with
//     Entra's error JSON and AADSTS codes.
//   - /{tenant}/v2.0/adminconsent (not at common) and /{tenant}/oauth2/v2.0/logout.
//   - /oidc/userinfo, Graph's OpenID Connect UserInfo endpoint.
//   - A Graph-like API at GraphURL(): GET /me, GET /me/messages,
//     POST /me/sendMail, GET /me/events, GET /users, which check the bearer
//     token's scp or roles and, after RequireClaims, answer a Conditional
//     Access claims challenge.
//   - Graph's consent records at GraphURL(): GET /servicePrincipals(appId='{id}')
//     (and /servicePrincipals/{id}), their /oauth2PermissionGrants and
//     /appRoleAssignments, GET /oauth2PermissionGrants?$filter=clientId eq '{id}',
//     POST /oauth2PermissionGrants, DELETE /oauth2PermissionGrants/{id} and
//     GET /applications(appId='{id}') in the app's home tenant.
//
// # Consent records as Graph objects
//
// The emulator's grants are Graph's objects: a delegated grant is an
// oAuth2PermissionGrant (id; clientId and resourceId, the service principal
// ids of client and resource, see ServicePrincipalID; consentType
// AllPrincipals or Principal with principalId; scope, space-separated), an
// application permission an appRoleAssignment. A consent page writes them and
// a grant created or deleted through the API changes what the next consent
// page asks. Reading needs the application (or an admin's delegated)
// permission Graph documents: Directory.Read.All, or for grants
// DelegatedPermissionGrant.ReadWrite.All, for service principals
// Application.Read.All; writing DelegatedPermissionGrant.ReadWrite.All or
// Directory.ReadWrite.All; else 403 Authorization_RequestDenied. Collections
// page with $top (default 100, 1 to 999) and @odata.nextLink carrying a
// $skiptoken; SetGraphPageSize makes pages small for tests. Service principal
// ids are derived from tenant and app id, so they are stable per tenant.
// Guessed: the 400 texts of a bad grant body and the 409
// Request_MultipleObjectsWithSameKeyValue for a grant that already exists.
//
// # The Graph-like API
//
// It answers in Microsoft Graph v1.0's JSON shapes, so that code written for
// it works on graph.microsoft.com: /me is the user resource; collections are
// {"@odata.context": ..., "value": [...]} of user, message (id, subject,
// bodyPreview, body{contentType,content}, from and sender
// {emailAddress{name,address}}, toRecipients, receivedDateTime, sentDateTime,
// isRead) and event (start and end as {dateTime, timeZone:"UTC"}, location,
// organizer, attendees) resources. POST /me/sendMail takes
// {"message":{...},"saveToSentItems":...} and answers 202 with an empty body;
// it delivers to the recipients who are users of the emulator and keeps a read
// copy for the sender unless saveToSentItems is false. Errors are
// {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}:
// 401 InvalidAuthenticationToken, and 403 for a missing scope with the code of
// the workload behind the route (ErrorAccessDenied for mail and calendar,
// Authorization_RequestDenied for users). Every other path under /v1.0, and
// every other method, gets 404 Request_ResourceNotFound in that shape once the
// token checks out (401 before), never a redirect to a cleaned path; an
// unreadable sendMail body gets 400 BadRequest. FuzzGraph checks that no
// method, path, query, body or token makes the API answer 5xx or a 4xx
// without this JSON.
//
// Mailboxes and calendars start empty: AddMessage and AddEvent seed them
// (names of known users are filled in from the directory), Messages and Events
// read them, e.g. to check what POST /me/sendMail delivered.
//
// # Pages and the Browser driver
//
// The HTML pages are plain forms a person (or a headless browser) can use:
// user buttons carry the UPN, consent buttons have id="accept" and
// id="decline", the organization checkbox id="consent_org", the way back from
// "Need admin approval" id="back". Each page also describes itself in the
// data-entratest attribute of <main id="entratest">, which NewBrowser's
// Browser reads to walk whole flows over HTTP as a given user.
//
// # Test control
//
// SetClock (or WithClock) injects the clock used for codes, tokens and expiry
// checks (and the dates of mail sent through Graph); SetTokenLifetime,
// FailTokenRequests, SetTokenLatency, SetUserConsent, SetUserConsentPolicy,
// SetRequiredPermissions (scope drift), RequireClaims and Count let tests
// reach every branch without sleeping. AddMessage and AddEvent seed Graph's mailboxes and calendars.
//
// # What the emulator models, and what it does not
//
// Every known departure from Entra is in this table, with its reason. The
// code cites the Microsoft page (or field report) behind each behaviour.
//
//	area                 models                                            does not model (reason)
//	-------------------  ------------------------------------------------  -----------------------------------------------
//	sign-in              account picker, login_hint, domain_hint, prompt   passwords, MFA, Microsoft accounts: a login_hint
//	                     none/login/select_account, session cookie         naming a known user signs that user in (tests)
//	app audience         single-tenant apps at organizations/common get    apps created before 10/2018, which Entra still
//	                     AADSTS50194; multi-tenant apps serve any tenant   lets use /common (tests create new apps)
//	user consent         the three tenant settings, verified publishers,   admin consent workflow (requests to admins),
//	                     the tenant's low-impact classification, admin-    risk-based step-up, consent to OIDC scopes
//	                     only permissions; 90093/90094 pages; 65004 back   (always granted here: Entra lists them on the
//	                                                                       page but a test gains nothing from it)
//	admin consent        /adminconsent, prompt=admin_consent, the org      /common/v2.0/adminconsent's exact error (undocumented;
//	                     checkbox of admins, AllPrincipals grants, roles   a 90014 page here); non-admins there get the
//	                                                                       90094 page (undocumented)
//	resources            Graph's published permissions; apps' exposed      service principals of other Microsoft APIs;
//	                     scopes; 650052 without the API's service          preauthorized clients; app roles of custom APIs
//	                     principal; 650057 for .default of an unlisted
//	                     resource
//	authorize answers    response_mode query, fragment, form_post;         response_type other than code (id_token, hybrid);
//	                     error_uri on errors; 900144 without response_type the form_post page needs a click (no script)
//	token endpoint       code (single use; kept on request errors), PKCE,  certificates and client assertions
//	                     refresh (scope optional), client credentials,     (private_key_jwt, not advertised), on-behalf-of,
//	                     700025, 9002326 for Origin from confidential      device code, ROPC; refresh token rotation limits;
//	                     clients, interaction_required with claims and     the SPA platform (any public client may redeem
//	                     suberror                                          cross-origin; Entra: only SPA redirect URIs); the
//	                                                                       consent_required/interaction_required choice at
//	                                                                       prompt=none is guessed (65001)
//	tokens               Graph: v1.0, header nonce (opaque to clients),    the token scope echoes requested scopes verbatim,
//	                     scp with the requested openid/profile/email;      ".default" included, so MSAL Go sees none as
//	                     custom APIs: accessTokenAcceptedVersion; id_token declined (Entra lists the granted scopes); CAE
//	                     aio/rh; app oid a GUID; expires_in 60-90 min,     lifetimes: cp1 clients get 60-90 min too (Entra:
//	                     seeded by the clock; client_info on request       up to 28 hours for CAE-enabled APIs such as Graph)
//	Conditional Access   RequireClaims: acrs satisfied interactively;      real policies, locations, devices; Graph's CAE
//	                     Graph challenges only cp1 clients (xms_cc);       revocation events (only the acrs rule is modeled)
//	                     refresh answers interaction_required + claims
//	discovery, keys      Entra's discovery fields; invalid_tenant 90002;   device code and Kerberos endpoints (not
//	                     JWKS keys with x5t, x5c, issuer                   implemented, so not advertised); key rollover
//	Graph API            /me, /me/messages, /me/sendMail, /me/events,      OData query options other than $top and the
//	                     /users, /oidc/userinfo (openid required) in       grants' $filter eq; paging other than of
//	                     Graph's shapes; grants, app role assignments,     directory collections; mail folders, bounces;
//	                     service principals, applications                  per-route 403 texts come from field reports;
//	                                                                       UserInfo's answer without openid (403) is guessed
//	transport            TLS on loopback, HTTP/2 (ALPN h2) and HTTP/1.1,   WithPlainHTTPFrontChannel serves pages over plain
//	                     as login.microsoftonline.com                      HTTP/1.1 (demos only); Entra never does. HTTP/2
//	                                                                       limits are Go's (250 streams per connection);
//	                                                                       Entra's are not published
//
// Guessed where the docs are silent: prompt=none with missing consent answers
// consent_required with AADSTS65001 (the docs list only interaction_required);
// a refresh for a scope without consent answers invalid_grant with suberror
// consent_required and AADSTS65001; a claims challenge at refresh answers
// interaction_required with AADSTS50076 and suberror basic_action; a
// non-admin at the admin consent endpoint gets the "Need admin approval" page.
//
// Documented shapes: admin consent success carries admin_consent=True,
// tenant, scope and state; its errors carry error, error_description,
// error_subcode, state and admin_consent=True, but no tenant (a confirmed doc
// bug: Entra leaves it out). A decline is error=access_denied with AADSTS65004.
//
// Client assertions (AddCertificate, AddFederatedCredential): a federated
// credential carries the issuer's public key, where Entra fetches the
// issuer's keys through its OpenID discovery document; an assertion's jti is
// not checked for replay; the code for a forged federated token (700027) is
// guessed. Graph reads request bodies sent with Content-Encoding: gzip, as
// the Graph SDKs send them.
//
// Lifetimes: authorization codes 10 minutes, access tokens 60 to 90 minutes
// (SetTokenLifetime fixes them), refresh tokens 90 days, and a used refresh
// token stays valid until it expires (Entra does not revoke refresh tokens on
// use) while it is among the newest eight of its user and client (a departure
// that bounds memory by the directory, not by the number of refreshes).
//
// # Scale
//
// Sign-in, consent and token requests cost the same whatever the number of
// users, flows, codes and refresh tokens (index maps, and expired entries
// swept at most once a minute of the emulator's clock), so users' load tests
// can seed 100,000 users in seconds; see BenchmarkSignInAtScale. Memory
// stays bounded under abuse: past 10,000 pending sign-ins, 10,000 browser
// sessions, 50,000 unredeemed codes or about a million refresh tokens the
// emulator drops all of that kind at once, so a load test keeps fewer than
// these in flight.
package entratest
