package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// TestServesHomePage is the fresh-clone experience: build, run with no configuration,
// and the printed URL serves the home page within seconds.
func TestServesHomePage(t *testing.T) {
	a := startExample(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+"/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", a.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", a.URL, resp.Status, body)
	}
	for _, want := range []string{"Consentry example", "You are signed out", `id="sign-in"`, "adele@contoso.example", `href="/mail"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("home page lacks %q:\n%s", want, body)
		}
	}
	if a.Emulator == "" {
		t.Errorf("example printed no Emulator line:\n%s", a.output())
	}
}

// TestEmulatorOnly runs only the emulator and checks that the authority it prints
// serves OpenID Connect discovery, so another app can be pointed at it.
func TestEmulatorOnly(t *testing.T) {
	a := startExample(t, "-emulator-only")
	for _, want := range []string{exampleClientID, exampleSecret, "/auth/callback", "adele@contoso.example", "fabrikam.example"} {
		if !strings.Contains(a.output(), want) {
			t.Errorf("-emulator-only output lacks %q:\n%s", want, a.output())
		}
	}
	if a.URL != "" {
		t.Errorf("-emulator-only printed an app URL %s", a.URL)
	}
	if a.Authority == "" {
		t.Fatalf("-emulator-only printed no Authority line:\n%s", a.output())
	}
	// The emulator's certificate is self-signed and made at start: skip verification,
	// for this loopback address only.
	if !strings.HasPrefix(a.Authority, "https://127.0.0.1:") {
		t.Fatalf("authority %s is not on loopback", a.Authority)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get(a.Authority + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		AuthorizationEndpoint string `json:"authorization_endpoint"`
		TokenEndpoint         string `json:"token_endpoint"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %s, %v", resp.Status, err)
	}
	if !strings.HasPrefix(doc.TokenEndpoint, a.Authority+"/") {
		t.Errorf("token endpoint %q is not under the authority %s", doc.TokenEndpoint, a.Authority)
	}
}

// TestBrowserConsentFlows walks the example in a real browser: a non-admin signs
// in, consents to mail, sends mail through a new consent, is stopped at the
// directory by an admin-only permission; an admin approves the app for the
// organization; then the non-admin sees the directory.
func TestBrowserConsentFlows(t *testing.T) {
	alex := newBrowser(t, "alex") // skips without Chromium
	// As with go run ./example: the app on localhost, the emulator on 127.0.0.1.
	a := startExample(t, "-addr", "localhost:0")
	start := time.Now()
	defer func() {
		t.Logf("browser flow took %v; screenshots in %s", time.Since(start).Round(time.Millisecond), alex.dir)
	}()

	// 1. Home, signed out.
	alex.open(a.URL + "/")
	alex.seesPage("home-signed-out", "home", "You are signed out", "alex@contoso.example") // and the users to sign in as
	alex.check("home-signed-out", alex.has("a#sign-in"), "no Sign in button")

	// 2. Sign in as a non-admin: the emulator's sign-in page, then consent to User.Read.
	alex.click("#sign-in")
	alex.signsInAs("sign-in", "alex@contoso.example")
	alex.seesEntra("consent-user-read", "consent", "User.Read")
	alex.click("#accept")
	alex.seesPage("home-signed-in", "home")
	alex.check("home-signed-in", alex.text("#signed-in-as") == "Alex Wilber" && strings.Contains(alex.pageText(), "Hello, Alex Wilber"),
		"the home page (outside Require) does not show Alex Wilber as signed in")

	// 3. Mail: incremental consent, for Mail.Read only.
	alex.click(`nav a[href="/mail"]`)
	alex.seesEntra("consent-mail-read", "consent", "Mail.Read")
	if got := alex.consentedScopes(); len(got) != 1 {
		t.Errorf("step \"consent-mail-read\": want only Mail.Read asked (incremental consent), got %v", got)
	}
	alex.click("#accept")
	alex.seesPage("mail", "mail", "Your mail", "Coffee before the kickoff?", "Megan Bowen") // seeded by the example

	// 4. Compose: the form posts, Mail.Send needs a new consent, the post resumes.
	subject := "Lunch on Friday? " + time.Now().Format("15:04:05")
	alex.click(`nav a[href="/compose"]`)
	alex.seesPage("compose", "compose")
	alex.fill("#to", "megan@contoso.example")
	alex.fill("#subject", subject)
	alex.fill("#body", "Sent from the Consentry example by the browser test.")
	alex.shot("compose-filled")
	alex.click("#send")
	alex.seesEntra("consent-mail-send", "consent", "Mail.Send")
	alex.click("#accept")
	alex.shot("compose-after-consent")
	sent := alex.has("#sent")
	alex.check("compose-after-consent", sent,
		"after consenting to Mail.Send the form post was not resumed: no \"Sent\" confirmation on the page the browser came back to")
	if sent {
		alex.expect("compose-after-consent", "Sent “"+subject+"” to megan@contoso.example")
		alex.click(`nav a[href="/mail"]`)
		alex.seesPage("mail-with-sent-message", "mail", subject) // in Sent Items
	}

	// 5. Directory: User.Read.All needs an administrator; the non-admin gets the admin page.
	alex.click(`nav a[href="/directory"]`)
	alex.seesEntra("need-admin-approval", "admin_approval", "User.Read.All")
	alex.click("#back")
	alex.seesPage("admin-needed", "adminneeded", "An administrator must approve this app", "User.Read.All")

	// 6. The admin, at her own computer, approves the app for the organization.
	adele := alex.person("adele")
	adele.open(a.URL + "/connect")
	adele.seesPage("connect", "connect")
	adele.click("#approve-org")
	adele.signsInAs("sign-in", "adele@contoso.example")
	adele.seesEntra("admin-consent", "adminconsent", "User.Read.All")
	adele.click("#accept")
	adele.seesPage("connect-approved", "connect")
	adele.check("connect-approved", adele.has("#approved"), "no confirmation after admin consent")
	adele.check("connect-approved", strings.Contains(adele.text("#tenants"), "Contoso\tyes"), "the connect page does not list Contoso as connected: %q", adele.text("#tenants"))

	// 7. The non-admin now sees the directory, without being asked anything.
	alex.click(`nav a[href="/directory"]`)
	alex.seesPage("directory", "directory", "Adele Vance", "Megan Bowen", "alex@contoso.example")

	// 8. The token's scopes and the grants.
	alex.click(`nav a[href="/scopes"]`)
	alex.seesPage("scopes", "scopes", "User.Read.All", "your organization")

	// 9. Sign out: the app, then Entra's logout page, then back home.
	if err := alex.try(chromedp.Click(chromedp.CSS("#sign-out"), chromedp.NodeVisible)); err != nil {
		alex.shot("FAILED-sign-out")
		why := ""
		if strings.Contains(err.Error(), "ERR_CERT") {
			why = ": the browser was sent to the emulator's HTTPS address (self-signed) for logout, not to the end_session_endpoint that discovery advertises on the plain-HTTP front channel; a person would see a certificate error here"
		}
		t.Fatalf("step \"sign out\": %v at %s%s", err, alex.location(), why)
	}
	alex.seesPage("signed-out", "home")
	alex.check("signed-out", alex.has("a#sign-in") && !alex.has("#signed-in-as") && strings.Contains(alex.pageText(), "You are signed out"),
		"the home page still shows a signed-in user")
	alex.open(a.URL + "/profile") // signed out for real: a protected page asks Entra again
	alex.seesEntra("sign-in-after-sign-out", "signin")
}

// TestBrowserUserConsentDisabled: in Fabrikam users may not consent, so even
// signing in (User.Read) needs an administrator: the user ends on the app's admin
// page, not in a loop. The administrator opens the directory and goes straight to
// admin consent (RequireAdmin), then connects the organization; then the user is in.
func TestBrowserUserConsentDisabled(t *testing.T) {
	lynne := newBrowser(t, "lynne") // skips without Chromium
	a := startExample(t)

	// 1. The user is stopped at sign-in: nothing may be consented by users here.
	lynne.open(a.URL + "/profile")
	lynne.signsInAs("sign-in", "lynne@fabrikam.example")
	lynne.seesEntra("need-admin-approval", "admin_approval", "User.Read")
	lynne.click("#back")
	lynne.seesPage("admin-needed", "adminneeded", "An administrator must approve this app", "User.Read")

	// 2. The administrator signs in, opens the directory and, being an administrator,
	// goes straight to Entra's admin consent for User.Read.All.
	diego := lynne.person("diego")
	diego.open(a.URL + "/")
	diego.click("#sign-in")
	diego.signsInAs("sign-in", "diego@fabrikam.example")
	diego.seesEntra("consent-user-read", "consent", "User.Read")
	diego.click("#accept")
	diego.seesPage("home-signed-in", "home")
	diego.click(`nav a[href="/directory"]`)
	diego.seesEntra("admin-consent-directory", "adminconsent", "User.Read.All")
	diego.click("#accept")
	diego.seesPage("directory", "directory", "Lynne Robbins", "Diego Siciliani")

	// 3. He connects the organization: every permission the app lists, for everyone.
	diego.click(`nav a[href="/connect"]`)
	diego.seesPage("connect", "connect")
	diego.click("#approve-org")
	diego.seesEntra("connect", "adminconsent", "User.Read", "Mail.Read", "Mail.Send", "User.Read.All")
	diego.click("#accept")
	diego.seesPage("connect-approved", "connect")
	diego.check("connect-approved", strings.Contains(diego.text("#tenants"), "Fabrikam\tyes"), "the connect page does not list Fabrikam as connected: %q", diego.text("#tenants"))

	// 4. The user tries again, and is in without being asked anything.
	lynne.click("#retry")
	lynne.seesPage("profile", "profile", "Lynne Robbins", "lynne@fabrikam.example")
}

// built is the example binary, built once per test run into a directory
// TestMain removes.
var built struct {
	once     sync.Once
	dir, bin string
	err      error
}

// buildExample builds the example, as `go run ./example` would (once per test run).
func buildExample(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "consentry-example-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "example")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		start := time.Now()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", built.bin, ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build ./example: %v\n%s", err, out)
		}
		t.Logf("built the example in %v", time.Since(start).Round(time.Millisecond))
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// app is a running example process.
type app struct {
	URL       string // where to open the app, from its "Open" line
	Emulator  string // the emulator's URL, from its "Emulator" line
	Authority string // from the "Authority" line of -emulator-only
	mu        sync.Mutex
	out       strings.Builder // everything it printed
}

func (a *app) output() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.out.String()
}

var (
	openLine      = regexp.MustCompile(`^\s*Open\s+(http://\S+)`)
	emulatorLine  = regexp.MustCompile(`^\s*Emulator\s+(https://\S+)`)
	authorityLine = regexp.MustCompile(`^\s*Authority\s+(https://\S+)`)
)

// startExample runs the built example with args and free loopback ports, and waits
// (at most 30 s) until it has printed its banner with the URL to open. The process is killed on cleanup.
func startExample(t *testing.T, args ...string) *app {
	t.Helper()
	return startExampleEnv(t, nil, args...)
}

// startExampleEnv is startExample with extra environment variables ("NAME=value").
func startExampleEnv(t *testing.T, env []string, args ...string) *app {
	t.Helper()
	bin := buildExample(t)
	if slices.Contains(args, "-emulator-only") {
		args = append([]string{"-emulator-addr", "127.0.0.1:0"}, args...)
	} else {
		args = append([]string{"-addr", "127.0.0.1:0", "-emulator-addr", "127.0.0.1:0"}, args...)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(cleanEnv(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	a := &app{}
	cmd.Stderr = writerFunc(func(p []byte) (int, error) { a.mu.Lock(); defer a.mu.Unlock(); return a.out.Write(p) })
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopExample(t, cmd, a) })
	ready := make(chan struct{})
	go a.scan(stdout, ready)
	select {
	case <-ready:
		t.Logf("example ready in %v: app %q, emulator %q, authority %q", time.Since(start).Round(time.Millisecond), a.URL, a.Emulator, a.Authority)
	case <-time.After(30 * time.Second):
		t.Fatalf("example printed no banner within 30 s; output:\n%s", a.output())
	}
	if a.URL == "" && !slices.Contains(args, "-emulator-only") {
		t.Fatalf("example printed no URL to open; output:\n%s", a.output())
	}
	return a
}

// scan copies the example's stdout into a.out and closes ready once the Open line is seen.
func (a *app) scan(r io.Reader, ready chan struct{}) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		a.mu.Lock()
		a.out.WriteString(line + "\n")
		if m := emulatorLine.FindStringSubmatch(line); m != nil {
			a.Emulator = m[1]
		}
		if m := openLine.FindStringSubmatch(line); m != nil && a.URL == "" {
			a.URL = m[1]
		}
		if m := authorityLine.FindStringSubmatch(line); m != nil {
			a.Authority = m[1]
		}
		if strings.Contains(line, "Ctrl-C to stop") { // the end of the banner
			close(ready)
		}
		a.mu.Unlock()
	}
}

// stopExample sends SIGINT, as Ctrl-C would, and checks the example exits cleanly.
func stopExample(t *testing.T, cmd *exec.Cmd, a *app) {
	start := time.Now()
	_ = cmd.Process.Signal(syscall.SIGINT)
	defer func() { t.Logf("example stopped %v after SIGINT", time.Since(start).Round(time.Millisecond)) }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("example exited with %v after SIGINT; output:\n%s", err, a.output())
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Errorf("example did not stop within 10 s of SIGINT; output:\n%s", a.output())
	}
}

// cleanEnv is the test's environment without the variables that switch the example
// to a real tenant or to Redis.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "REDIS_URL",
			"CONSENTRY_CACHE_KEY", "CONSENTRY_SESSION_KEY":
			continue
		}
		env = append(env, kv)
	}
	return env
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
