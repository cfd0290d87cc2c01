package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/gorilla/csrf"
	"golang.org/x/oauth2"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// Wrap a ServeMux route with the scopes it needs and read the token in the
// handler. The app runs against the entratest emulator here; a browser driver
// signs in and consents.
func ExampleMiddleware_Require() {
	idp := entratest.NewServer()
	defer idp.Close()
	tenant := idp.AddTenant(entratest.Tenant{Domain: "contoso.example"})
	user := idp.AddUser(entratest.User{TenantID: tenant.ID, UPN: "adele@contoso.example", DisplayName: "Adele"})

	mux := http.NewServeMux()
	app := httptest.NewTLSServer(mux)
	defer app.Close()
	reg := idp.AddApp(entratest.App{HomeTenantID: tenant.ID, Secrets: []string{"secret"},
		RedirectURIs: []string{app.URL + "/auth/callback"}})

	cred, _ := confidential.NewCredFromSecret("secret")
	mw, err := middleware.New(middleware.Config{
		Authority:   idp.Authority(tenant.ID), // a single-tenant app signs in at its tenant
		ClientID:    reg.ClientID,
		Credential:  cred,
		RedirectURL: app.URL + "/auth/callback",
		SessionKeys: [][]byte{[]byte("an example 32-byte hash key!!!!!"), []byte("an example 32-byte block key!!!!")},
		HTTPClient:  idp.Client(), DisableInstanceDiscovery: true, // the emulator
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("/auth/", mw.AuthHandler())
	mux.Handle("GET /mail", mw.Require("Mail.Read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := middleware.TokenFromContext(r.Context())
		acct, _ := middleware.AccountFromContext(r.Context())
		req, _ := http.NewRequestWithContext(r.Context(), "GET", idp.GraphURL()+"/me/messages", nil)
		tok.SetAuthHeader(req)
		resp, err := idp.Client().Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		fmt.Fprintf(w, "%s read mail with %v: Graph said %d", acct.Name, tok.Scopes, resp.StatusCode)
	})))

	browser := idp.NewBrowser(app.Certificate())
	browser.User = user.UPN
	page, err := browser.Get(app.URL + "/mail?folder=inbox")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page.URL.RequestURI())
	fmt.Println(page.Body)
	// Output:
	// /mail?folder=inbox
	// Adele read mail with [Mail.Read]: Graph said 200
}

// Mount the sign-in, callback and sign-out endpoints next to the redirect URL's
// path: with RedirectURL https://app.example/auth/callback they are
// /auth/signin, /auth/callback and /auth/signout.
func ExampleMiddleware_AuthHandler() {
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
	mux := http.NewServeMux()
	mux.Handle("/auth/", mw.AuthHandler())
	// A link that signs in and consents to Mail.Read, then opens /mail:
	fmt.Println(mw.SignInURL("/mail", "Mail.Read"))

	// A script calling a protected route gets 401 JSON naming that URL, not a redirect.
	mux.Handle("GET /api/mail", mw.Require("Mail.Read")(http.NotFoundHandler()))
	r := httptest.NewRequest("GET", "https://app.example/api/mail", nil)
	r.Header.Set("Accept", "application/json")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	body, _ := io.ReadAll(w.Result().Body)
	fmt.Println(w.Code, strings.Contains(string(body), `"signin_url":"/auth/signin?redirect=%2Fapi%2Fmail\u0026scope=Mail.Read"`))
	// Output:
	// /auth/signin?redirect=%2Fmail&scope=Mail.Read
	// 401 true
}

// Mount the app under /app/ behind http.StripPrefix: every URL the browser
// sees keeps the prefix. A script's 401 returns the user to the page the
// script runs on and carries RFC 6750's Bearer challenge.
func ExampleMiddleware_Require_prefix() {
	mw := exampleMiddleware(func(c *middleware.Config) { c.RedirectURL = "https://app.example/app/auth/callback" })
	inner := http.NewServeMux()
	inner.Handle("/auth/", mw.AuthHandler())
	inner.Handle("GET /api/mail", mw.Require("Mail.Read")(http.NotFoundHandler()))
	outer := http.NewServeMux()
	outer.Handle("/app/", http.StripPrefix("/app", inner))

	r := httptest.NewRequest("GET", "https://app.example/app/api/mail", nil)
	r.Header.Set("Sec-Fetch-Mode", "cors") // fetch() from the page below
	r.Header.Set("Referer", "https://app.example/app/inbox")
	w := httptest.NewRecorder()
	outer.ServeHTTP(w, r)
	var body struct {
		SignInURL string `json:"signin_url"`
	}
	_ = json.NewDecoder(w.Body).Decode(&body)
	fmt.Println(w.Code, body.SignInURL)
	fmt.Println(w.Result().Header.Values("WWW-Authenticate")[1])
	// Output:
	// 401 /app/auth/signin?redirect=%2Fapp%2Finbox&scope=Mail.Read
	// Bearer realm="app.example", scope="Mail.Read"
}

// Put ResumeForms outermost when a token-checking CSRF middleware wraps the
// app, so a form kept across consent reaches it with its original fields.
func ExampleMiddleware_ResumeForms() {
	mw := exampleMiddleware(nil)
	mux := http.NewServeMux()
	mux.Handle("/auth/", mw.AuthHandler())
	mux.Handle("POST /compose", mw.Require("Mail.Send")(http.NotFoundHandler()))
	handler := mw.ResumeForms(csrf.Protect([]byte("a 32-byte key for gorilla/csrf!!"))(mux))
	_ = handler // http.ListenAndServe(addr, handler)
}

// Draw the middleware's pages in the app's own layout, rewording one of them.
func ExampleConfig_renderPage() {
	layout := template.Must(template.New("layout").Parse(`<main class="app"><h1>{{.Title}}</h1><p>{{.Message}}</p>
{{range .Links}}<a href="{{.URL}}">{{.Label}}</a>{{end}}
{{with .Form}}<form id="{{.ID}}" method="{{.Method}}" action="{{.Action}}"><button>{{.Button}}</button></form>{{end}}
{{with .Script}}<script src="{{.}}"></script>{{end}}</main>`))
	mw := exampleMiddleware(func(c *middleware.Config) {
		c.Logger = slog.New(slog.DiscardHandler) // the 404 below is logged as a warning
		c.RenderPage = func(w http.ResponseWriter, r *http.Request, p middleware.Page) {
			if errors.Is(p.Err, middleware.ErrConsentDeclined) {
				p.Message = "No problem: this page needs your mailbox, and nothing was shared."
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(p.Status)
			_ = layout.Execute(w, p)
		}
	})
	w := httptest.NewRecorder()
	mw.AuthHandler().ServeHTTP(w, httptest.NewRequest("GET", "https://app.example/auth/nowhere", nil))
	fmt.Println(w.Code, strings.Contains(w.Body.String(), `<main class="app"><h1>Not found</h1>`))
	// Output:
	// 404 true
}

func exampleMiddleware(cfg func(*middleware.Config)) *middleware.Middleware {
	cred, _ := confidential.NewCredFromSecret("secret")
	c := middleware.Config{
		Authority:   "https://login.microsoftonline.com/organizations",
		ClientID:    "00001111-aaaa-2222-bbbb-3333cccc4444",
		Credential:  cred,
		RedirectURL: "https://app.example/auth/callback",
		SessionKeys: [][]byte{[]byte("an example 32-byte hash key!!!!!")},
	}
	if cfg != nil {
		cfg(&c)
	}
	mw, err := middleware.New(c)
	if err != nil {
		log.Fatal(err)
	}
	return mw
}

// Declare a route whose scopes only an administrator can grant. A non-admin
// gets a page with a link for their administrator; an admin is sent straight
// to admin consent, after which every user of the tenant gets in.
func ExampleMiddleware_RequireAdmin() {
	mw := exampleMiddleware(func(c *middleware.Config) {
		// Entra sends wids only if the registration asks for it; an app may know better.
		c.IsAdmin = func(r *http.Request, acct middleware.Account) bool { return acct.Username == "it@contoso.example" }
	})
	mux := http.NewServeMux()
	mux.Handle("/auth/", mw.AuthHandler())
	mux.Handle("GET /directory", mw.RequireAdmin("User.Read.All")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "the organization's users")
	})))
	// The link the approval page shows, for an admin to open:
	fmt.Println(mw.AdminConsentURL("/directory", "User.Read.All"))
	// Output:
	// /auth/adminconsent?redirect=%2Fdirectory&scope=User.Read.All
}

// Call the route's API with the user's token; a Conditional Access claims
// challenge from the API sends the user through Entra again and back here.
func ExampleMiddleware_Transport() {
	mw := exampleMiddleware(func(c *middleware.Config) { c.ClientCapabilities = []string{"cp1"} })
	mail := func(w http.ResponseWriter, r *http.Request) {
		resp, err := mw.Client(r).Get("https://graph.microsoft.com/v1.0/me/messages")
		if mw.Challenge(w, r, err) { // a *ClaimsChallengeError: redirect (browser) or 401 (script)
			return
		}
		if err != nil {
			http.Error(w, "Graph is unreachable", http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		_, _ = io.Copy(w, resp.Body)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", mw.AuthHandler())
	mux.Handle("GET /mail", mw.Require("Mail.Read")(http.HandlerFunc(mail)))
}

// Get an app-only token for a customer tenant, and tell its admin how to
// grant the application permission when it is missing.
func ExampleMiddleware_AppToken() {
	mw := exampleMiddleware(func(c *middleware.Config) {
		c.RequireOnboarding, c.ConnectRoles = true, []string{"User.Read.All"}
	})
	tok, err := mw.AppToken(context.Background(), "aaaabbbb-0000-cccc-1111-dddd2222eeee", "", "User.Read.All")
	var ace *middleware.AppConsentError
	switch {
	case errors.As(err, &ace):
		fmt.Println("ask an admin of", ace.TenantID, "to open", ace.ConnectURL)
	case err != nil:
		log.Print(err)
	default:
		_ = tok // call Graph as the app
	}
}

// Onboard a customer tenant: its admin opens the connect URL, consents to the
// app's permissions for the organization, and the tenant is recorded.
func ExampleMiddleware_ConnectURL() {
	mw := exampleMiddleware(func(c *middleware.Config) {
		c.RequireOnboarding = true                                          // users of unconnected tenants get the connect link
		c.ConnectRoles = []string{"User.Read.All"}                          // what proves the admin's approval (an app-only token's roles)
		c.AllowedTenants = []string{"aaaabbbb-0000-cccc-1111-dddd2222eeee"} // optional: only these may sign in at all
	})
	fmt.Println(mw.ConnectURL("/welcome", ""))
	// Output:
	// /auth/connect?redirect=%2Fwelcome
}

// Show an administrator what their tenant has granted against what the
// routes declare, and the link that grants exactly what is missing. The app
// needs the Microsoft Graph application permission Directory.Read.All in
// the tenant; without it the error says so.
func ExampleMiddleware_ConsentStatus() {
	idp := entratest.NewServer()
	defer idp.Close()
	tenant := idp.AddTenant(entratest.Tenant{Domain: "contoso.example"})
	user := idp.AddUser(entratest.User{TenantID: tenant.ID, UPN: "adele@contoso.example"})
	reg := idp.AddApp(entratest.App{HomeTenantID: tenant.ID, MultiTenant: true, Secrets: []string{"secret"},
		RedirectURIs: []string{"https://app.example/auth/callback"}})
	idp.GrantDelegated(tenant.ID, reg.ClientID, "", "User.Read")            // an admin, for everyone
	idp.GrantDelegated(tenant.ID, reg.ClientID, user.ObjectID, "Mail.Read") // one user, for herself

	cred, _ := confidential.NewCredFromSecret("secret")
	mw, err := middleware.New(middleware.Config{
		Authority: idp.Authority("organizations"), ClientID: reg.ClientID, Credential: cred,
		RedirectURL: "https://app.example/auth/callback",
		SessionKeys: [][]byte{[]byte("an example 32-byte hash key!!!!!"), []byte("an example 32-byte block key!!!!")},
		HTTPClient:  idp.Client(), DisableInstanceDiscovery: true, GraphURL: idp.URL, // the emulator
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	page := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	mux.Handle("GET /profile", mw.Require("User.Read")(page))
	mux.Handle("GET /mail", mw.Require("Mail.Read")(page))
	mux.Handle("GET /calendar", mw.Require("Calendars.Read")(page))

	_, err = mw.ConsentStatus(context.Background(), tenant.ID)
	var cse *middleware.ConsentStatusError
	if errors.As(err, &cse) {
		fmt.Println("grant the app", cse.Permission)
	}
	idp.GrantAppRoles(tenant.ID, reg.ClientID, cse.Permission) // the tenant's admin does so

	st, err := mw.ConsentStatus(context.Background(), tenant.ID)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range st.Permissions {
		fmt.Printf("%s: %s\n", p.Scope, p.Consent)
	}
	fmt.Println(len(st.AdminConsentURLs("/permissions")), "link to approve", len(st.Missing()), "permissions")
	// Output:
	// grant the app Directory.Read.All
	// Calendars.Read: missing
	// Mail.Read: some users
	// User.Read: tenant-wide
	// 1 link to approve 2 permissions
}

// Get tokens inside a handler, for any scopes and several resources: when one
// needs consent, Challenge sends a browser to Entra for just those scopes and
// back to this request (a script gets 401 JSON instead).
func ExampleMiddleware_Token() {
	mw := exampleMiddleware(nil)
	mux := http.NewServeMux()
	mux.Handle("/auth/", mw.AuthHandler())
	mux.HandleFunc("GET /dashboard", func(w http.ResponseWriter, r *http.Request) {
		graph, err := mw.Token(r, "User.Read")
		if mw.Challenge(w, r, err) {
			return // to Entra and back here, then this handler runs again
		}
		if err != nil {
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		api, err := mw.Token(r, "api://00001111-aaaa-2222-bbbb-3333cccc4444/access_as_user")
		if mw.Challenge(w, r, err) {
			return
		}
		if err != nil {
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, graph.Scopes, api.Scopes)
	})
	r := httptest.NewRequest("GET", "https://app.example/dashboard", nil)
	r.Header.Set("Accept", "application/json") // a script, not signed in
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	// Output: 401 application/json
}

// Act for a user outside any request: keep the account id from a request,
// and later get a token from the shared token cache (refreshed as needed).
// When the user must come back, the error says so; nothing redirects.
func ExampleMiddleware_AccountToken() {
	mw := exampleMiddleware(nil)
	accountID := "00000000-0000-0000-66f3-3332eca7ea81.9188040d-6c67-4c5b-b112-36a304b66dad" // Account.HomeAccountID
	_, err := mw.AccountToken(context.Background(), accountID, "Mail.Read")
	var ce *middleware.ConsentError
	if errors.As(err, &ce) && errors.Is(err, middleware.ErrInteractionRequired) {
		// e.g. email the user a link to the app: ce.URL signs in and consents to ce.Scopes.
		fmt.Println(errors.Is(err, middleware.ErrNotSignedIn), ce.URL)
	}
	// Output: true /auth/signin?redirect=%2F&scope=Mail.Read
}

// Create the app's own user at sign-in, keyed by the stable object id, or
// refuse the sign-in with a page saying why.
func ExampleSignInRefusedError() {
	users := map[string]string{} // the app's user table: object id → role
	onSignIn := func(ctx context.Context, acct middleware.Account) error {
		if !slices.Contains(acct.Roles, "Expenses.User") {
			return &middleware.SignInRefusedError{Reason: "Ask your manager for access to Contoso Expenses."}
		}
		users[acct.TenantID+"/"+acct.ObjectID] = strings.Join(acct.Roles, " ") // groups: acct.Groups, only here
		return nil
	}
	mw := exampleMiddleware(func(c *middleware.Config) { c.OnSignIn = onSignIn })
	_ = mw
	err := onSignIn(context.Background(), middleware.Account{ObjectID: "o1", TenantID: "t1"})
	fmt.Println(errors.Is(err, middleware.ErrSignInRefused), err)
	// Output: true middleware: sign-in refused: Ask your manager for access to Contoso Expenses.
}

// Call an API with golang.org/x/oauth2's client: the TokenSource gets the
// user's tokens, and a consent it needs goes through Challenge.
func ExampleMiddleware_TokenSource() {
	mw := exampleMiddleware(nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		client := oauth2.NewClient(r.Context(), mw.TokenSource(r, "Calendars.Read"))
		resp, err := client.Get("https://graph.microsoft.com/v1.0/me/events")
		if mw.Challenge(w, r, err) {
			return // consent for Calendars.Read, then back here
		}
		if err != nil {
			http.Error(w, "Graph is unreachable", http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})
}

// Offer "Use another account": Entra shows its account picker instead of
// signing the current user in again.
func ExampleMiddleware_SwitchAccountURL() {
	mw := exampleMiddleware(nil)
	fmt.Println(mw.SwitchAccountURL("/"))
	// Output: /auth/signin?redirect=%2F&prompt=select_account
}

// Configure the app's identity from the environment, as azidentity does: a
// secret, a certificate, or (here) workload identity federation.
func ExampleConfigFromEnv() {
	os.Setenv("AZURE_TENANT_ID", "organizations")
	os.Setenv("AZURE_CLIENT_ID", "00001111-aaaa-2222-bbbb-3333cccc4444")
	os.Setenv("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token")
	os.Setenv("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us") // a national cloud
	cfg, err := middleware.ConfigFromEnv(middleware.Config{
		RedirectURL: "https://app.example/auth/callback",
		SessionKeys: [][]byte{[]byte("an example 32-byte hash key!!!!!")},
	})
	if err != nil {
		log.Fatal(err) // names the missing variables
	}
	mw, err := middleware.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.Authority)
	fmt.Println(mw.GraphURL() + "/v1.0/me")
	// Output:
	// https://login.microsoftonline.us/organizations
	// https://graph.microsoft.us/v1.0/me
}

// Authenticate the app with a federated token (Kubernetes workload
// identity, GitHub Actions) instead of a secret.
func ExampleNewCredFromTokenFile() {
	cred, err := middleware.NewCredFromTokenFile(os.Getenv("AZURE_FEDERATED_TOKEN_FILE"))
	if err != nil {
		log.Fatal(err)
	}
	_ = middleware.Config{Credential: cred} // with Authority, ClientID, RedirectURL, SessionKeys
}
