package middleware_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/consentry/consentry/middleware"
)

func TestConsentErrorIsAndAs(t *testing.T) {
	var got error
	cfg := validConfig(t)
	cfg.ErrorHandler = func(w http.ResponseWriter, r *http.Request, status int, err error) {
		got = err
		w.WriteHeader(status)
	}
	mw, err := middleware.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "https://app.example/auth/callback?error=access_denied&error_description=AADSTS90094%3A+Admin+approval", nil)
	mw.AuthHandler().ServeHTTP(httptest.NewRecorder(), r)
	var ce *middleware.ConsentError
	if !errors.As(got, &ce) || ce.Code != 90094 || ce.ErrorCode != "access_denied" {
		t.Fatalf("err = %v", got)
	}
	if !errors.Is(got, middleware.ErrAdminConsentRequired) || !strings.HasPrefix(got.Error(), "middleware: ") {
		t.Errorf("errors.Is admin consent: %v", got)
	}
}
