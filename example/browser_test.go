package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// findChromium returns the path of a Chromium or Chrome binary, or "".
// CONSENTRY_CHROMIUM overrides the search.
func findChromium() string {
	if p := os.Getenv("CONSENTRY_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is one headless Chromium with a fresh profile, driven step by step; it
// saves a screenshot after every step.
type browser struct {
	t   *testing.T
	ctx context.Context
	who string // whose browser, in screenshot names
	dir string // screenshots
	n   *int   // screenshots so far, shared by the browsers of a test
}

// newBrowser starts a headless Chromium, or skips the test when there is none
// (outside CI, where CI is unset; in CI a missing Chromium fails the test).
func newBrowser(t *testing.T, who string) *browser {
	t.Helper()
	exe := findChromium()
	if exe == "" && os.Getenv("CI") != "" {
		t.Fatal("no Chromium found in CI (looked for /usr/bin/chromium, chromium, chromium-browser, google-chrome; set CONSENTRY_CHROMIUM): CI must run the browser test, not skip it")
	}
	if exe == "" {
		t.Skip("no Chromium found (looked for /usr/bin/chromium, chromium, chromium-browser, google-chrome; set CONSENTRY_CHROMIUM): apt-get install chromium to run the browser test")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1100, 900),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("password-store", "basic"),
		// No --ignore-certificate-errors: the example serves the emulator's browser pages
		// on plain HTTP on loopback, so a person meets no certificate warning, and neither
		// does this browser.
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := startBounded(ctx, cancelCtx, 60*time.Second); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	b := &browser{t: t, ctx: ctx, who: who, dir: screenshotDir(t), n: new(int)}
	keep := ""
	if os.Getenv("CONSENTRY_SCREENSHOTS") == "" {
		keep = " (removed after the test; set CONSENTRY_SCREENSHOTS=<dir> to keep them)"
	}
	t.Logf("browser: %s; screenshots in %s%s", exe, b.dir, keep)
	return b
}

// person opens a second browser window with its own cookies (another person at
// another computer), in the same Chromium.
func (b *browser) person(who string) *browser {
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	if err := startBounded(ctx, cancel, 30*time.Second); err != nil {
		b.t.Fatalf("opening a browser window for %s: %v", who, err)
	}
	return &browser{t: b.t, ctx: ctx, who: who, dir: b.dir, n: b.n}
}

// startBounded opens the browser (or tab) of ctx. The first action on a chromedp
// context binds the browser's lifetime to that context, so the start cannot run on
// a child context with a deadline: a timer cancels ctx itself if it takes too long.
func startBounded(ctx context.Context, cancel context.CancelFunc, d time.Duration) error {
	timer := time.AfterFunc(d, cancel)
	defer timer.Stop()
	if err := chromedp.Do(ctx); err != nil {
		return fmt.Errorf("not started within %v: %w", d, err)
	}
	return nil
}

// screenshotDir is $CONSENTRY_SCREENSHOTS/<test name> when set, else a t.TempDir().
func screenshotDir(t *testing.T) string {
	base := os.Getenv("CONSENTRY_SCREENSHOTS")
	if base == "" {
		return t.TempDir()
	}
	dir := filepath.Join(base, strings.ReplaceAll(t.Name(), "/", "_"))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// run runs actions with a 30 s bound and fails the test on error, with a screenshot.
func (b *browser) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("FAILED-" + what)
		b.t.Fatalf("%s: %v\nat %s\n%s", what, err, b.location(), b.pageText())
	}
}

// navigate runs actions that load a page (a link, a form, a URL) and waits for it.
func (b *browser) navigate(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, actions...); err != nil {
		b.shot("FAILED-" + what)
		b.t.Fatalf("%s: %v\nat %s\n%s", what, err, b.location(), b.pageText())
	}
}

// try runs actions that load a page and returns the error instead of failing.
func (b *browser) try(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	_, err := chromedp.RunResponse(ctx, actions...)
	return err
}

// open loads url.
func (b *browser) open(url string) {
	b.t.Helper()
	b.navigate("open "+url, chromedp.Navigate(url))
}

// click clicks the element sel and waits for the page it leads to.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.navigate("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	b.settle()
}

// settle waits (at most 10 s) until the page is one of the example's or the
// emulator's, past any page in between that moves on by itself (the
// middleware's resume page, drawn in the example's layout, whose form a script
// submits at once). It does not fail: every click is followed by a step
// (seesPage, seesEntra) or a check that judges the page it ended on.
func (b *browser) settle() {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	_ = chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS(`main#entratest, main[id^="page-"]:not(:has(#consentry-resume))`)))
}

// fill types text into the form field sel, replacing what is there.
func (b *browser) fill(sel, text string) {
	b.t.Helper()
	b.run("fill "+sel, chromedp.SetValue(chromedp.CSS(sel), text, chromedp.NodeVisible))
}

// has reports whether an element matches sel on the current page (no waiting).
func (b *browser) has(sel string) bool {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf("document.querySelector(%q) !== null", sel)))
	return err == nil && n
}

// text is the visible text of the element sel, or "" when there is none.
func (b *browser) text(sel string) string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf("(document.querySelector(%q) || {}).innerText || ''", sel)))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(s)
}

// pageText is the visible text of the current page.
func (b *browser) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
	if err != nil {
		return "(no page text: " + err.Error() + ")"
	}
	return s
}

// location is the current page's URL.
func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "(unknown: " + err.Error() + ")"
	}
	return s
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// shot saves a full-page screenshot as NN-name.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	*b.n++
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err) // every step has its screenshot
		return
	}
	file := filepath.Join(b.dir, fmt.Sprintf("%02d-%s-%s.png", *b.n, b.who, unsafeName.ReplaceAllString(name, "-")))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Errorf("saving screenshot: %v", err)
	}
}

// expect checks that the current page's text contains each of want, failing the
// test at step what when it does not.
func (b *browser) expect(what string, want ...string) {
	b.t.Helper()
	text := b.pageText()
	for _, w := range want {
		if !strings.Contains(text, w) {
			b.t.Fatalf("step %q: page lacks %q\nat %s\n%s", what, w, b.location(), text)
		}
	}
}

// seesPage is a step that ends on the example's page id (its <main id>): it takes
// the screenshot step, then checks the page and that its text contains each of want.
func (b *browser) seesPage(step, id string, want ...string) {
	b.t.Helper()
	b.shot(step)
	if !b.has("main#page-" + id) {
		b.t.Fatalf("step %q: want the example's %q page, got %s\n%s", step, id, b.location(), b.pageText())
	}
	b.expect(step, want...)
}

// seesEntra is a step that ends on the emulator's page of kind (signin, consent,
// admin_approval, adminconsent): it takes the screenshot "entra-"+step, then checks
// the page and that it lists each of scopes.
func (b *browser) seesEntra(step, kind string, scopes ...string) {
	b.t.Helper()
	b.shot("entra-" + step)
	if !b.has(fmt.Sprintf(`main#entratest[data-kind=%q]`, kind)) {
		b.t.Fatalf("step %q: want the emulator's %s page, got %s\n%s", step, kind, b.location(), b.pageText())
	}
	for _, s := range scopes {
		if !b.has(fmt.Sprintf(`#permissions li[data-scope=%q]`, s)) {
			b.t.Fatalf("step %q: the %s page does not list %s\n%s", step, kind, s, b.pageText())
		}
	}
}

// check records a failed expectation without stopping the test, so that the steps
// after a missing feature still run and show what works.
func (b *browser) check(what string, ok bool, format string, args ...any) {
	b.t.Helper()
	if !ok {
		b.t.Errorf("step %q: %s\nat %s\n%s", what, fmt.Sprintf(format, args...), b.location(), b.pageText())
	}
}

// consentedScopes lists the scopes on the emulator's consent page.
func (b *browser) consentedScopes() []string {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#permissions li")].map(li => li.dataset.scope)`))
	if err != nil {
		b.t.Fatalf("reading the consent page: %v", err)
	}
	return s
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
	alex.seesEntra("sign-in", "signin")
	alex.click(`button[data-upn="alex@contoso.example"]`)
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
	adele.seesEntra("sign-in", "signin")
	adele.click(`button[data-upn="adele@contoso.example"]`)
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
	lynne.seesEntra("sign-in", "signin")
	lynne.click(`button[data-upn="lynne@fabrikam.example"]`)
	lynne.seesEntra("need-admin-approval", "admin_approval", "User.Read")
	lynne.click("#back")
	lynne.seesPage("admin-needed", "adminneeded", "An administrator must approve this app", "User.Read")

	// 2. The administrator signs in, opens the directory and, being an administrator,
	// goes straight to Entra's admin consent for User.Read.All.
	diego := lynne.person("diego")
	diego.open(a.URL + "/")
	diego.click("#sign-in")
	diego.seesEntra("sign-in", "signin")
	diego.click(`button[data-upn="diego@fabrikam.example"]`)
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
