package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/consentry/consentry/middleware/entratest"
)

func okHandler(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }

// BenchmarkBare is the handler without the middleware, the baseline of BenchmarkFastPath.
func BenchmarkBare(b *testing.B) {
	h := http.HandlerFunc(okHandler)
	r := httptest.NewRequest("GET", "https://app.example/profile", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
}

// BenchmarkFastPath is a signed-in user with a cached token: session decode,
// in-process cache hit, token in context.
func BenchmarkFastPath(b *testing.B) {
	e := newEnv(b)
	br := e.browser(e.user, entratest.Accept)
	if p, err := br.Get(e.srv.URL + "/profile"); err != nil || p.StatusCode != 200 {
		b.Fatalf("sign-in: %v", err)
	}
	u, _ := url.Parse(e.srv.URL)
	h := e.mw.Require("User.Read")(http.HandlerFunc(okHandler))
	r := httptest.NewRequest("GET", e.srv.URL+"/profile", nil)
	for _, c := range br.Client.Jar.Cookies(u) {
		r.AddCookie(c)
	}
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r.Clone(r.Context()))
		if w.Code != http.StatusNoContent {
			b.Fatalf("status %d", w.Code)
		}
	}
}
