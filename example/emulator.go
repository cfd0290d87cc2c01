package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// The example's directory on the emulator. Ids are fixed so that an app pointed at
// `go run ./example -emulator-only` keeps working across restarts.
const (
	contosoID  = "6f0d5a3e-2b1c-4d7e-9a8f-0c1b2d3e4f50"
	fabrikamID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"

	exampleClientID = "3c5b0f2e-8d7a-4e61-b9c4-2a1f0e9d8c7b"
	exampleSecret   = "example-secret-only-for-the-emulator"
	exampleAppName  = "Consentry example"
)

// exampleScopes are the delegated permissions the app's registration lists: what an
// administrator approves for the organization. User.Read.All needs an administrator.
var exampleScopes = []string{"User.Read", "Mail.Read", "Mail.Send", "User.Read.All"}

// seedTenant is one tenant of the example's directory, with its users.
type seedTenant struct {
	entratest.Tenant
	Users []entratest.User
}

func exampleDirectory() []seedTenant {
	return []seedTenant{
		{Tenant: entratest.Tenant{ID: contosoID, Domain: "contoso.example", DisplayName: "Contoso"},
			Users: []entratest.User{
				{ObjectID: "a1d3e4f5-0001-4c00-8000-00000000c0a1", UPN: "adele@contoso.example", DisplayName: "Adele Vance", JobTitle: "IT administrator", Admin: true},
				{ObjectID: "a1d3e4f5-0002-4c00-8000-00000000c0a2", UPN: "alex@contoso.example", DisplayName: "Alex Wilber", JobTitle: "Marketing assistant"},
				{ObjectID: "a1d3e4f5-0003-4c00-8000-00000000c0a3", UPN: "megan@contoso.example", DisplayName: "Megan Bowen", JobTitle: "Product manager"},
			}},
		{Tenant: entratest.Tenant{ID: fabrikamID, Domain: "fabrikam.example", DisplayName: "Fabrikam", UserConsentDisabled: true},
			Users: []entratest.User{
				{ObjectID: "b2e4f5a6-0001-4f00-8000-00000000fab1", UPN: "diego@fabrikam.example", DisplayName: "Diego Siciliani", JobTitle: "Operations lead", Admin: true},
				{ObjectID: "b2e4f5a6-0002-4f00-8000-00000000fab2", UPN: "lynne@fabrikam.example", DisplayName: "Lynne Robbins", JobTitle: "Retail buyer"},
			}},
	}
}

// startEmulator starts the embedded Entra ID emulator on addr, its sign-in pages on
// signinAddr ("" = any free loopback port), and seeds it with the example's tenants,
// users and app registration (whose redirect URIs are redirectURIs).
func startEmulator(addr, signinAddr string, redirectURIs []string, log *slog.Logger) (srv *entratest.Server, err error) {
	// NewServer panics when it cannot listen, like httptest; turn that into an error.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("example: starting the emulator on %s (sign-in pages on %q): %v (choose others with -emulator-addr, -signin-addr)", addr, signinAddr, r)
		}
	}()
	// The pages a browser visits (sign-in, consent, logout) are served on plain HTTP
	// on loopback, so that nobody meets a certificate warning in this demo; tokens and
	// Graph stay on HTTPS, which MSAL requires.
	opts := []entratest.Option{entratest.WithAddr(addr), entratest.WithPlainHTTPFrontChannel(), entratest.WithLogger(log)}
	if signinAddr != "" {
		opts = append(opts, entratest.WithFrontChannelAddr(signinAddr))
	}
	srv = entratest.NewServer(opts...)
	for _, t := range exampleDirectory() {
		srv.AddTenant(t.Tenant)
		for _, u := range t.Users {
			u.TenantID = t.ID
			srv.AddUser(u)
		}
	}
	srv.AddApp(entratest.App{
		ClientID:       exampleClientID,
		DisplayName:    exampleAppName,
		HomeTenantID:   contosoID,
		Secrets:        []string{exampleSecret},
		RedirectURIs:   redirectURIs,
		MultiTenant:    true,
		RequiredScopes: exampleScopes,
		// What the Permissions page reads grants with; connecting a tenant grants it.
		RequiredRoles: []string{middleware.ReadGrantsPermission},
	})
	srv.GrantAppRoles(contosoID, exampleClientID, middleware.ReadGrantsPermission) // Contoso's admin did
	seedMailboxes(srv, time.Now())
	return srv, nil
}

// seedMailboxes gives every user two messages from colleagues and a meeting, so the
// Mail page has something to show on the first visit.
func seedMailboxes(srv *entratest.Server, now time.Time) {
	for _, t := range exampleDirectory() {
		for i, u := range t.Users {
			next, other := t.Users[(i+1)%len(t.Users)], t.Users[(i+len(t.Users)-1)%len(t.Users)]
			srv.AddMessage(u.ObjectID, entratest.Message{
				From:    entratest.EmailAddress{Address: next.UPN},
				Subject: "Welcome to the " + t.DisplayName + " team site",
				Body: "Hi " + firstName(u) + ", the team site is ready: the project plan, the meeting notes and the " +
					"budget sheet are all there. Have a look before Thursday's kickoff and add anything I missed. Thanks! " + firstName(next),
				ReceivedDateTime: now.Add(-26 * time.Hour),
				IsRead:           true,
			})
			srv.AddMessage(u.ObjectID, entratest.Message{
				From:    entratest.EmailAddress{Address: other.UPN},
				Subject: "Coffee before the kickoff?",
				Body: "Morning " + firstName(u) + "! I'll be in the office early on Thursday. Coffee at 9:30 on the " +
					"third floor? I'd like your take on the agenda before we start. See you, " + firstName(other),
				ReceivedDateTime: now.Add(-40 * time.Minute),
			})
			srv.AddEvent(u.ObjectID, entratest.Event{
				Subject: "Project kickoff", Location: "Room 2.14", Organizer: entratest.EmailAddress{Address: next.UPN},
				Start: now.Truncate(time.Hour).Add(48 * time.Hour), End: now.Truncate(time.Hour).Add(49 * time.Hour),
				Attendees: []entratest.EmailAddress{{Address: u.UPN}, {Address: other.UPN}},
			})
		}
	}
}

func firstName(u entratest.User) string {
	first, _, _ := strings.Cut(u.DisplayName, " ")
	return first
}

// printDirectory writes the seeded tenants and users, for people to sign in as.
func printDirectory(w io.Writer) {
	for _, t := range exampleDirectory() {
		consent := "users may consent"
		if t.UserConsentDisabled {
			consent = "user consent disabled: every permission needs an administrator"
		}
		fmt.Fprintf(w, "    %s (%s, tenant id %s; %s)\n", t.DisplayName, t.Domain, t.ID, consent)
		for _, u := range t.Users {
			role := ""
			if u.Admin {
				role = "  administrator"
			}
			fmt.Fprintf(w, "      %-26s %s%s\n", u.UPN, u.DisplayName, role)
		}
	}
}

// printEmulatorOnly describes the running emulator for people who point their own app at it.
func printEmulatorOnly(w io.Writer, srv *entratest.Server, redirectURIs []string) {
	fmt.Fprintf(w, "Entra ID emulator (from the Consentry example)\n\n")
	fmt.Fprintf(w, "  Emulator       %s   (for app replicas: go run ./example -emulator-url %s)\n", srv.URL, srv.URL)
	fmt.Fprintf(w, "  Authority      %s   (or %s, %s)\n", srv.Authority("organizations"), srv.Authority(contosoID), srv.Authority("contoso.example"))
	fmt.Fprintf(w, "  Discovery      %s/v2.0/.well-known/openid-configuration\n", srv.Authority("organizations"))
	fmt.Fprintf(w, "  Graph          %s   (/me, /me/messages, /me/sendMail, /me/events, /users)\n", srv.GraphURL())
	fmt.Fprintf(w, "  Sign-in pages  %s   (plain HTTP for browsers, demo only; discovery advertises it)\n", srv.FrontChannelURL())
	fmt.Fprintf(w, "  Certificate    self-signed, new at each start: trust it in your client, or skip verification for this loopback address only\n\n")
	fmt.Fprintf(w, "  App registration %q (multi-tenant, home tenant Contoso)\n", exampleAppName)
	fmt.Fprintf(w, "    client id      %s\n", exampleClientID)
	fmt.Fprintf(w, "    client secret  %s\n", exampleSecret)
	fmt.Fprintf(w, "    redirect URIs  %s\n", strings.Join(redirectURIs, ", "))
	fmt.Fprintf(w, "    permissions    %s (User.Read.All needs an administrator)\n\n", strings.Join(exampleScopes, ", "))
	fmt.Fprintf(w, "  Tenants and users (sign in with the user name, no password):\n")
	printDirectory(w)
	fmt.Fprintf(w, "\n  Ctrl-C to stop.\n")
}

// emulatorAdmin reports whether the signed-in account is an administrator in the
// example's directory (its home account id is "<object id>.<tenant id>").
func emulatorAdmin(_ *http.Request, acct middleware.Account) bool {
	oid, _, _ := strings.Cut(acct.HomeAccountID, ".")
	for _, t := range exampleDirectory() {
		for _, u := range t.Users {
			if strings.EqualFold(u.ObjectID, oid) {
				return u.Admin
			}
		}
	}
	return false
}
