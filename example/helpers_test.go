package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
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

// signsInAs expects the emulator's sign-in page (step) and picks upn on it.
func (b *browser) signsInAs(step, upn string) {
	b.t.Helper()
	b.seesEntra(step, "signin")
	b.click(fmt.Sprintf(`button[data-upn=%q]`, upn))
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

var flowField = regexp.MustCompile(`name="flow" value="([^"]+)"`)

// signInOverHTTP opens path of the app as a browser without JavaScript would, signs
// in on the emulator's page as upn, accepts the consent page, and returns the app's page.
func signInOverHTTP(t *testing.T, ctx context.Context, a *app, path, upn string) string {
	t.Helper()
	return signInWith(t, ctx, loopbackClient(), a.URL+path, upn)
}

// loopbackClient is a client with a cookie jar for the loopback app and
// emulator a test started. The emulator's certificate is self-signed and made
// at start; this client talks only to them.
func loopbackClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

// signInWith is signInOverHTTP with the client c, opening target.
func signInWith(t *testing.T, ctx context.Context, c *http.Client, target, upn string) string {
	t.Helper()
	path := target
	body, at := fetch(t, ctx, c, http.MethodGet, target, nil)
	if !strings.Contains(body, `data-kind="signin"`) {
		t.Fatalf("GET %s did not reach the emulator's sign-in page:\n%s", path, body)
	}
	body, at = fetch(t, ctx, c, http.MethodPost, at.JoinPath("/_entratest/signin").String(), url.Values{"flow": {flowOf(t, body)}, "upn": {upn}})
	if strings.Contains(body, `data-kind="consent"`) {
		body, _ = fetch(t, ctx, c, http.MethodPost, at.JoinPath("/_entratest/consent").String(), url.Values{"flow": {flowOf(t, body)}, "action": {"accept"}})
	}
	return body
}

func flowOf(t *testing.T, page string) string {
	t.Helper()
	m := flowField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no flow field on the emulator's page:\n%s", page)
	}
	return m[1]
}

// fetch sends a request (a form when form is not nil), follows redirects, and
// returns the body and the origin it came from.
func fetch(t *testing.T, ctx context.Context, c *http.Client, method, u string, form url.Values) (string, *url.URL) {
	t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), &url.URL{Scheme: resp.Request.URL.Scheme, Host: resp.Request.URL.Host}
}
