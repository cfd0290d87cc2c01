package middleware_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

// malformedTokens is a transport that, when on, puts a stray byte in front of
// the token endpoint's successful answers (so MSAL cannot decode them) and
// remembers the tokens they carried.
type malformedTokens struct {
	base   http.RoundTripper
	on     atomic.Bool
	mu     sync.Mutex
	tokens []string
}

func (m *malformedTokens) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := m.base.RoundTrip(r)
	if err != nil || !m.on.Load() || !strings.HasSuffix(r.URL.Path, "/token") || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var tr map[string]any
	_ = json.Unmarshal(body, &tr)
	m.mu.Lock()
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		if v, _ := tr[k].(string); v != "" {
			m.tokens = append(m.tokens, v)
		}
	}
	m.mu.Unlock()
	body = append([]byte("<"), body...) // not JSON any more
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// TestMalformedTokenAnswersStayOutOfLogs: when the token endpoint's answer
// does not decode, at code redemption and at refresh, the request fails and
// no token it carried reaches the log, not even a fragment.
func TestMalformedTokenAnswersStayOutOfLogs(t *testing.T) {
	e := newEnv(t)
	tr := &malformedTokens{base: e.idp.Client().Transport}
	adele := e.refreshingUser(t, tr)
	tr.on.Store(true)
	if p := e.get(t, adele, "/profile"); p.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("refresh with a malformed answer: %d, want 503%s", p.StatusCode, trail(p))
	}
	if p := e.get(t, e.browser(e.addUser("bob"), entratest.Accept), "/profile"); p.StatusCode < 400 {
		t.Errorf("redemption with a malformed answer: %d, want an error page%s", p.StatusCode, trail(p))
	}
	logs := e.logs.String()
	if len(tr.tokens) < 4 {
		t.Fatalf("only %d tokens went through the malformed answers", len(tr.tokens))
	}
	if !strings.Contains(logs, "raw message was: [redacted]") {
		t.Errorf("the log does not show MSAL's decode error (redacted):\n%s", logs)
	}
	for _, tok := range tr.tokens {
		for _, part := range strings.Split(tok, ".") {
			if len(part) >= 16 && strings.Contains(logs, part) {
				t.Fatalf("the log holds a token part %.24s...:\n%s", part, logs)
			}
		}
	}
}
