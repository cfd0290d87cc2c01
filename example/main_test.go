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
)

// built is the example binary, built once per test run into a directory
// TestMain removes.
var built struct {
	once     sync.Once
	dir, bin string
	err      error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
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
