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
// application roles (GrantAppRoles). The Microsoft Graph permission catalog is
// built in: User.Read, Mail.Read, Mail.Send, Calendars.Read,
// Calendars.ReadWrite and Files.Read can be granted by users; User.Read.All,
// Directory.Read.All and Directory.ReadWrite.All need an admin. Apps may expose
// their own scopes (App.ExposedScopes, requested as "api://{clientID}/{value}").
//
// # Endpoints
//
//   - /{tenant}/v2.0/.well-known/openid-configuration and
//     /{tenant}/discovery/v2.0/keys (tenant: id, domain, "organizations", "common")
//   - /{tenant}/oauth2/v2.0/authorize: sign-in page, consent page listing only
//     the permissions not yet granted, "Need admin approval" (AADSTS90094),
//     prompt=none|login|consent|select_account, login_hint, domain_hint,
//     claims (acrs), nonce, state, PKCE (S256 or plain); response_mode=query only.
//   - /{tenant}/oauth2/v2.0/token: authorization_code, refresh_token and
//     client_credentials, with Entra's error JSON and AADSTS codes.
//   - /{tenant}/v2.0/adminconsent and /{tenant}/oauth2/v2.0/logout.
//   - A Graph-like API at GraphURL(): GET /me, GET /me/messages,
//     POST /me/sendMail, GET /me/events, GET /users, which check the bearer
//     token's scp or roles and, after RequireClaims, answer a Conditional
//     Access claims challenge.
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
// FailTokenRequests, SetTokenLatency, SetUserConsent, SetRequiredPermissions
// (scope drift), RequireClaims and Count let tests reach every branch without
// sleeping. AddMessage and AddEvent seed Graph's mailboxes and calendars.
//
// # Departures from Entra
//
// Where the emulator departs from Entra, or guesses undocumented behaviour,
// the code says so in comments, citing the Microsoft page (or field report)
// behind each shape. Departures: there are no passwords (a login_hint naming a
// known user signs that user in); OpenID Connect scopes never need consent;
// only response_mode=query is supported; a single-tenant app may use the
// organizations/common authority for its own tenant's users (Entra answers
// AADSTS50194 for apps created after October 2018); the token response's
// scope echoes the requested scopes verbatim (including ".default") so that
// MSAL Go sees none as declined; WithPlainHTTPFrontChannel serves pages over
// plain HTTP, which Entra never does. The Graph-like API ignores OData query
// options ($select, $top, $orderby, $filter: every property comes back, in one
// page, messages newest first and events earliest first), has no mail folders,
// drops mail to addresses that are not users of the emulator without a bounce,
// and leaves unknown user properties (givenName, officeLocation, ...) null. The
// per-route 403 codes and messages, and the 400 answers of sendMail, are taken
// from field reports: Graph documents only the error shape
// (https://learn.microsoft.com/graph/errors).
//
// The "back to app" link of "Need admin approval" sends error=access_denied,
// error_subcode=cancel and AADSTS90094, so tests can tell it from a decline.
// No Microsoft doc describes that redirect, and field reports show real Entra
// sending AADSTS65004 (the decline code) or no description there: code meant
// for real Entra must not depend on seeing 90094.
//
// Guessed where the docs are silent: prompt=none with missing consent answers
// consent_required with AADSTS65001 (the docs list only interaction_required);
// a refresh for a scope without consent answers invalid_grant with suberror
// consent_required and AADSTS65001; a claims challenge at refresh answers
// interaction_required with AADSTS50076; a non-admin at the admin consent
// endpoint gets the "Need admin approval" page.
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
// Lifetimes: authorization codes 10 minutes, access tokens one hour
// (SetTokenLifetime), refresh tokens 90 days, and a used refresh token stays
// valid until it expires (Entra does not revoke refresh tokens on use).
package entratest
