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

// newBrowser starts a headless Chromium, or skips the test when there is none.
func newBrowser(t *testing.T, who string) *browser {
	t.Helper()
	exe := findChromium()
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
		// The emulator serves HTTPS on loopback with a self-signed certificate made at
		// start; the browser must accept it, as a person clicking through the warning.
		chromedp.IgnoreCertErrors,
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	startCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(startCtx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	b := &browser{t: t, ctx: ctx, who: who, dir: screenshotDir(t), n: new(int)}
	t.Logf("browser: %s; screenshots in %s", exe, b.dir)
	return b
}

// person opens a second browser window with its own cookies (another person at
// another computer), in the same Chromium.
func (b *browser) person(who string) *browser {
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	startCtx, cancelStart := context.WithTimeout(ctx, 30*time.Second)
	defer cancelStart()
	if err := chromedp.Do(startCtx); err != nil {
		b.t.Fatalf("opening a browser window for %s: %v", who, err)
	}
	return &browser{t: b.t, ctx: ctx, who: who, dir: b.dir, n: b.n}
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

// open loads url.
func (b *browser) open(url string) {
	b.t.Helper()
	b.navigate("open "+url, chromedp.Navigate(url))
}

// click clicks the element sel and waits for the page it leads to.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.navigate("click "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
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
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	file := filepath.Join(b.dir, fmt.Sprintf("%02d-%s-%s.png", *b.n, b.who, unsafeName.ReplaceAllString(name, "-")))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Errorf("saving screenshot: %v", err)
	}
}

// expect checks that the current page's text contains each of want, failing the
// test at step what (with a screenshot already taken by the caller) when it does not.
func (b *browser) expect(what string, want ...string) {
	b.t.Helper()
	text := b.pageText()
	for _, w := range want {
		if !strings.Contains(text, w) {
			b.t.Fatalf("step %q: page lacks %q\nat %s\n%s", what, w, b.location(), text)
		}
	}
}

// expectPage checks that the current page is the example's page id (its <main id>).
func (b *browser) expectPage(what, id string) {
	b.t.Helper()
	if !b.has("main#page-" + id) {
		b.t.Fatalf("step %q: want the example's %q page, got %s\n%s", what, id, b.location(), b.pageText())
	}
}
