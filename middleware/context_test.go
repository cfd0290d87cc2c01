package middleware_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware"
)

func TestTokenNeverPrinted(t *testing.T) {
	tok := middleware.Token{AccessToken: "eyJ.secret.token", ExpiresOn: time.Unix(1e9, 0), Scopes: []string{"Mail.Read"}}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "token", tok)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "token", tok)
	out := fmt.Sprintf("%v %+v %#v %s", tok, tok, tok, tok) + logs.String()
	if strings.Contains(out, "secret") {
		t.Errorf("token printed: %s", out)
	}
	if !strings.Contains(out, "Mail.Read") || !strings.Contains(out, "redacted") {
		t.Errorf("token description lacks scopes or redaction: %s", out)
	}
}
