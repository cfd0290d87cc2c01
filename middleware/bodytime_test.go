package middleware_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware"
)

// TestSlowKeptBodyIsCutOff: a form post that needs sign-in and whose body
// never finishes arriving gets an error page once the read's deadline
// passes, instead of holding the request open.
func TestSlowKeptBodyIsCutOff(t *testing.T) {
	e := newEnv(t)
	a := e.serveApp(t, nil)
	middleware.SetKeptBodyTimeout(a.mw, 50*time.Millisecond)
	// giveUp only ends the test if the deadline never comes.
	giveUp, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte("subject=slow")) // then nothing, for ever
		<-giveUp.Done()
		pw.CloseWithError(giveUp.Err())
	}()
	req, _ := http.NewRequestWithContext(giveUp, http.MethodPost, e.srv.URL+"/compose", body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	resp, err := e.noRedirects().Do(req)
	if err != nil {
		t.Fatalf("the slow post was never answered: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("slow kept body: %d, want 400", resp.StatusCode)
	}
}
