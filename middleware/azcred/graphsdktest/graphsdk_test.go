package graphsdktest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	kauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/azcred"
	"github.com/consentry/consentry/middleware/entratest"
)

const secret = "graph-sdk-test-secret"

// graphApp is an app whose pages call the emulator's Graph through the SDK.
type graphApp struct {
	idp      *entratest.Server
	tenant   entratest.Tenant
	user     entratest.User
	reg      entratest.App
	srv      *httptest.Server
	mw       *middleware.Middleware
	consents atomic.Int32 // SDK errors that were our *ConsentError (errors.As)
}

func newGraphApp(t *testing.T) *graphApp {
	t.Helper()
	a := &graphApp{idp: entratest.NewServer()}
	t.Cleanup(a.idp.Close)
	mux := http.NewServeMux()
	a.srv = httptest.NewTLSServer(mux)
	t.Cleanup(a.srv.Close)
	a.tenant = a.idp.AddTenant(entratest.Tenant{Domain: "contoso.example"})
	a.user = a.idp.AddUser(entratest.User{TenantID: a.tenant.ID, UPN: "adele@contoso.example", DisplayName: "Adele Vance"})
	a.reg = a.idp.AddApp(entratest.App{HomeTenantID: a.tenant.ID, MultiTenant: true, Secrets: []string{secret},
		RedirectURIs: []string{a.srv.URL + "/auth/callback"}})
	cred, err := confidential.NewCredFromSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	keys := [][]byte{make([]byte, 32), make([]byte, 32)}
	rand.Read(keys[0])
	rand.Read(keys[1])
	a.mw, err = middleware.New(middleware.Config{
		Authority: a.idp.Authority("organizations"), ClientID: a.reg.ClientID, Credential: cred,
		RedirectURL: a.srv.URL + "/auth/callback", SessionKeys: keys,
		HTTPClient: a.idp.Client(), DisableInstanceDiscovery: true, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/auth/", a.mw.AuthHandler())
	mux.HandleFunc("GET /me", a.me)
	mux.HandleFunc("GET /inbox", a.inbox)
	mux.Handle("POST /send", a.mw.Require("User.Read")(http.HandlerFunc(a.send)))
	return a
}

// client is a Graph SDK client on the emulator's Graph with cred, asking
// for scopes. In production msgraphsdk.NewGraphServiceClientWithCredentials(
// cred, scopes) does the same on graph.microsoft.com; the emulator needs its
// own host, base URL and certificate.
func (a *graphApp) client(t testing.TB, cred azcore.TokenCredential, scopes ...string) *msgraphsdk.GraphServiceClient {
	auth, err := kauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred, scopes, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	opts := msgraphsdk.GetDefaultClientOptions()
	hc := &http.Client{Transport: khttp.NewCustomTransportWithParentTransport(a.idp.Client().Transport,
		msgraphcore.GetDefaultMiddlewaresWithOptions(&opts)...)}
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, hc)
	if err != nil {
		t.Fatal(err)
	}
	adapter.SetBaseUrl(a.idp.GraphURL())
	return msgraphsdk.NewGraphServiceClient(adapter)
}

// challenged hands an SDK error to Challenge, counting those that are ours.
func (a *graphApp) challenged(w http.ResponseWriter, r *http.Request, err error) bool {
	var ce *middleware.ConsentError
	if errors.As(err, &ce) && errors.Is(err, middleware.ErrInteractionRequired) {
		a.consents.Add(1)
	}
	if a.mw.Challenge(w, r, err) {
		return true
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return true
	}
	return false
}

func (a *graphApp) me(w http.ResponseWriter, r *http.Request) {
	me, err := a.client(nil, azcred.ForRequest(a.mw, r), "User.Read").Me().Get(r.Context(), nil)
	if a.challenged(w, r, err) {
		return
	}
	fmt.Fprintf(w, "me=%s", *me.GetDisplayName())
}

func (a *graphApp) inbox(w http.ResponseWriter, r *http.Request) {
	msgs, err := a.client(nil, azcred.ForRequest(a.mw, r), "Mail.Read").Me().Messages().Get(r.Context(), nil)
	if a.challenged(w, r, err) {
		return
	}
	var subjects []string
	for _, m := range msgs.GetValue() {
		subjects = append(subjects, *m.GetSubject())
	}
	slices.Sort(subjects)
	fmt.Fprintf(w, "inbox=%s", strings.Join(subjects, "|"))
}

func (a *graphApp) send(w http.ResponseWriter, r *http.Request) {
	msg := models.NewMessage()
	subject, to := r.FormValue("subject"), r.FormValue("to")
	msg.SetSubject(&subject)
	body := models.NewItemBody()
	text := models.TEXT_BODYTYPE
	content := "sent through the Graph SDK"
	body.SetContentType(&text)
	body.SetContent(&content)
	msg.SetBody(body)
	rcpt, addr := models.NewRecipient(), models.NewEmailAddress()
	addr.SetAddress(&to)
	rcpt.SetEmailAddress(addr)
	msg.SetToRecipients([]models.Recipientable{rcpt})
	req := users.NewItemSendMailPostRequestBody()
	req.SetMessage(msg)
	err := a.client(nil, azcred.ForRequest(a.mw, r), "Mail.Send").Me().SendMail().Post(r.Context(), req, nil)
	if a.challenged(w, r, err) {
		return
	}
	fmt.Fprintf(w, "sent=%s", subject)
}

// originTransport adds the Origin a browser sends with a form post from the
// app's own pages (the emulator's Browser sends none).
type originTransport struct {
	base   http.RoundTripper
	origin string
}

func (o originTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.String(), o.origin+"/") {
		r = r.Clone(r.Context())
		r.Header.Set("Origin", o.origin)
	}
	return o.base.RoundTrip(r)
}

func (a *graphApp) browser() *entratest.Browser {
	b := a.idp.NewBrowser(a.srv.Certificate())
	b.User, b.Consent = a.user.UPN, entratest.Accept
	b.Client.Transport = originTransport{base: b.Client.Transport, origin: a.srv.URL}
	return b
}

func consented(p *entratest.Page) [][]string {
	var out [][]string
	for _, s := range p.Trail {
		if s.Kind == "consent" {
			out = append(out, s.Scopes)
		}
	}
	return out
}

// TestGraphSDKInHandlers: the Graph SDK, given azcred.ForRequest, reads /me
// and /me/messages and sends mail as the signed-in user; each first call
// fails with our *ConsentError through the SDK's wrapping, Challenge takes
// the browser through consent for that scope alone, and the request
// resumes (the sendMail form post with its body).
func TestGraphSDKInHandlers(t *testing.T) {
	a := newGraphApp(t)
	a.idp.AddMessage(a.user.ObjectID, entratest.Message{Subject: "Quarterly numbers",
		From: entratest.EmailAddress{Address: "megan@contoso.example"}})
	b := a.browser()
	get := func(path, want string, scopes []string) {
		t.Helper()
		p, err := b.Get(a.srv.URL + path)
		if err != nil || p.StatusCode != http.StatusOK || p.Body != want {
			t.Fatalf("GET %s: %v %d %q, want %q", path, err, statusOf(p), bodyOf(p), want)
		}
		if c := consented(p); !slices.EqualFunc(c, [][]string{scopes}, slices.Equal) {
			t.Errorf("GET %s consented to %v, want %v", path, c, scopes)
		}
	}
	get("/me", "me=Adele Vance", []string{"User.Read"})
	get("/inbox", "inbox=Quarterly numbers", []string{"Mail.Read"})
	p, err := b.PostForm(a.srv.URL+"/send", url.Values{"subject": {"Hello"}, "to": {"adele@contoso.example"}})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if c := consented(p); !slices.EqualFunc(c, [][]string{{"Mail.Send"}}, slices.Equal) {
		t.Errorf("send consented to %v, want [Mail.Send]", c)
	}
	if p.Body != "sent=Hello" { // the Browser submits the resume page, as a browser's script does
		t.Fatalf("send: %d %q, want the kept form sent once", p.StatusCode, p.Body)
	}
	if n := a.consents.Load(); n != 3 { // not signed in, Mail.Read, Mail.Send
		t.Errorf("errors.As found our *ConsentError %d times through the SDK, want 3", n)
	}
	var got []string
	for _, msg := range a.idp.Messages(a.user.ObjectID) {
		got = append(got, msg.Subject)
	}
	if !slices.Contains(got, "Hello") {
		t.Errorf("mailbox %v lacks the sent message", got)
	}
}

// TestGraphSDKInBackground: with the browser gone, a job reads /me through
// the SDK with azcred.ForAccount; once consent is revoked the SDK call
// fails with our *ConsentError.
func TestGraphSDKInBackground(t *testing.T) {
	a := newGraphApp(t)
	// Access tokens inside the 5-minute refresh margin: every call refreshes,
	// as a job running after the user's token expired would.
	a.idp.SetTokenLifetime(4 * time.Minute)
	var id string
	a.srv.Config.Handler.(*http.ServeMux).Handle("GET /whoami", a.mw.Require("User.Read")(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			acct, _ := middleware.AccountFromContext(r.Context())
			id = acct.HomeAccountID
		})))
	if p, err := a.browser().Get(a.srv.URL + "/whoami"); err != nil || p.StatusCode != http.StatusOK || id == "" {
		t.Fatalf("sign-in: %v %d", err, statusOf(p))
	}
	ctx := context.Background()
	client := a.client(t, azcred.ForAccount(a.mw, id), "User.Read")
	me, err := client.Me().Get(ctx, nil)
	if err != nil || *me.GetUserPrincipalName() != a.user.UPN {
		t.Fatalf("job: %v", err)
	}
	a.idp.RevokeDelegated(a.tenant.ID, a.reg.ClientID, a.user.ObjectID)
	_, err = client.Me().Get(ctx, nil)
	var ce *middleware.ConsentError
	if !errors.As(err, &ce) || !errors.Is(err, middleware.ErrConsentRequired) {
		t.Fatalf("after revocation: %v, want our *ConsentError (ErrConsentRequired)", err)
	}
}

func statusOf(p *entratest.Page) int {
	if p == nil {
		return 0
	}
	return p.StatusCode
}

func bodyOf(p *entratest.Page) string {
	if p == nil {
		return ""
	}
	return p.Body
}

// TestGraphSDKWithCredentials: the README's code, as written:
// msgraphsdk.NewGraphServiceClientWithCredentials with azcred.ForRequest.
// The SDK calls https://graph.microsoft.com; the test points that host at
// the emulator (http.DefaultTransport, which the SDK's client copies).
func TestGraphSDKWithCredentials(t *testing.T) {
	a := newGraphApp(t)
	emulator := strings.TrimPrefix(a.idp.URL, "https://")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = a.idp.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	tr.TLSClientConfig.ServerName = "127.0.0.1"
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != "graph.microsoft.com:443" {
			return nil, fmt.Errorf("the test reaches only Graph, not %s", addr)
		}
		return (&net.Dialer{}).DialContext(ctx, network, emulator)
	}
	saved := http.DefaultTransport
	http.DefaultTransport = tr
	t.Cleanup(func() { http.DefaultTransport = saved })
	a.srv.Config.Handler.(*http.ServeMux).HandleFunc("GET /profile", func(w http.ResponseWriter, r *http.Request) {
		graph, err := msgraphsdk.NewGraphServiceClientWithCredentials(azcred.ForRequest(a.mw, r), []string{"User.Read"})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		me, err := graph.Me().Get(r.Context(), nil)
		if a.challenged(w, r, err) {
			return
		}
		fmt.Fprintf(w, "hello %s", *me.GetDisplayName())
	})
	p, err := a.browser().Get(a.srv.URL + "/profile")
	if err != nil || p.StatusCode != http.StatusOK || p.Body != "hello Adele Vance" {
		t.Fatalf("%v %d %q", err, statusOf(p), bodyOf(p))
	}
	if c := consented(p); !slices.EqualFunc(c, [][]string{{"User.Read"}}, slices.Equal) {
		t.Errorf("consented to %v, want [User.Read]", c)
	}
}
