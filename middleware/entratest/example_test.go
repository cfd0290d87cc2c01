package entratest_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/consentry/consentry/middleware/entratest"
)

// A test sets up a tenant, a user and an app registration, signs the user in
// through the emulator's real pages with a Browser, and redeems the code with
// a real MSAL Go confidential client.
func Example() {
	srv := entratest.NewServer()
	defer srv.Close()

	// The app under test; here it only needs to receive the redirect.
	app := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer app.Close()
	redirect := app.URL + "/auth/callback"

	tenant := srv.AddTenant(entratest.Tenant{Domain: "contoso.example"})
	srv.AddUser(entratest.User{TenantID: tenant.ID, UPN: "adele@contoso.example", DisplayName: "Adele Vance"})
	reg := srv.AddApp(entratest.App{DisplayName: "My App", HomeTenantID: tenant.ID,
		Secrets: []string{"secret"}, RedirectURIs: []string{redirect}})

	cred, _ := confidential.NewCredFromSecret("secret")
	client, err := confidential.New(srv.Authority(tenant.ID), reg.ClientID, cred,
		confidential.WithHTTPClient(srv.Client()), confidential.WithInstanceDiscovery(false))
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	scopes := []string{"User.Read"}
	authURL, _ := client.AuthCodeURL(ctx, reg.ClientID, redirect, scopes)

	b := srv.NewBrowser(app.Certificate()) // signs in and accepts consent
	b.User, b.Consent = "adele@contoso.example", entratest.Accept
	page, err := b.Get(authURL + "&state=xyz")
	if err != nil {
		log.Fatal(err)
	}
	for _, step := range page.Trail {
		fmt.Println(step.Kind, step.Scopes)
	}

	res, err := client.AcquireTokenByAuthCode(ctx, page.URL.Query().Get("code"), redirect, scopes)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Account.PreferredUsername, len(srv.Grants(tenant.ID, reg.ClientID)))
	// Output:
	// signin []
	// consent [User.Read]
	// redirect []
	// app []
	// adele@contoso.example 1
}
