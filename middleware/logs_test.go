package middleware_test

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

// TestRoutineRoundTripsLogQuietly: a first visit (sign-in) and a page that
// needs consent are routine: nothing at INFO holds Entra's raw error answer,
// the redirects to Entra and the reason the user was needed are DEBUG lines,
// and every line names scopes in one canonical casing.
func TestRoutineRoundTripsLogQuietly(t *testing.T) {
	e := newEnv(t)
	logs := &syncBuffer{}
	cfg := e.cfg
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mw := e.newMiddleware(t, cfg)
	e.setHandler(e.routes(mw))
	b := e.browser(e.user, entratest.Accept)
	var secrets []string // the authorization codes the callbacks carried
	for _, path := range []string{"/profile", "/mail"} {
		p := e.get(t, b, path)
		if p.StatusCode != 200 || len(steps(p, "consent")) != 1 {
			t.Fatalf("%s: %d%s", path, p.StatusCode, trail(p))
		}
		for _, s := range p.Trail {
			if u, err := url.Parse(s.URL); err == nil && u.Query().Get("code") != "" {
				secrets = append(secrets, u.Query().Get("code"))
			}
		}
	}
	if len(secrets) != 2 {
		t.Fatalf("want the codes of two callbacks, got %d", len(secrets))
	}
	levels := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		msg, level := rec["msg"].(string), rec["level"].(string)
		levels[msg] = level
		if level != "DEBUG" && (strings.Contains(line, "error_description") || strings.Contains(line, "AADSTS") || len(line) > 400) {
			t.Errorf("%s line with Entra's raw answer: %s", level, line)
		}
		for _, c := range secrets {
			if strings.Contains(line, c) {
				t.Errorf("log line holds an authorization code: %s", line)
			}
		}
		if strings.Contains(line, "eyJ") { // the start of every JWT: an ID or access token
			t.Errorf("log line holds a token: %s", line)
		}
		if s, ok := rec["scopes"].(string); ok && s != strings.ToLower(s) {
			t.Errorf("scopes %q not in canonical (lower) case: %s", s, line)
		}
	}
	for _, msg := range []string{"middleware: redirect to Entra", "middleware: interactive sign-in needed"} {
		if levels[msg] != "DEBUG" {
			t.Errorf("%q logged at %q, want DEBUG", msg, levels[msg])
		}
	}
	if levels["middleware: signed in"] != "INFO" {
		t.Errorf("sign-ins are no longer logged at INFO: %v", levels)
	}
}
