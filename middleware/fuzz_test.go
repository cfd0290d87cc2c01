package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// checkAnswer fails t when an answer to hostile input is a server error
// (other than 503, the documented "Entra or the store is unavailable"), or
// redirects anywhere but to a same-origin path or the identity provider.
func checkAnswer(t *testing.T, w *httptest.ResponseRecorder, idp []string) {
	t.Helper()
	if w.Code >= 500 && w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	loc := w.Header().Get("Location")
	if loc == "" {
		return
	}
	for _, origin := range idp {
		if strings.HasPrefix(loc, origin+"/") {
			return
		}
	}
	// Not necessarily one the middleware made (ServeMux redirects to cleaned
	// paths), but it must resolve to the app's origin, as a browser resolves it.
	u, err := url.Parse(loc)
	app := &url.URL{Scheme: "https", Host: "app.example", Path: "/"}
	if err != nil || strings.HasPrefix(loc, "//") || strings.ContainsRune(loc, '\\') ||
		app.ResolveReference(u).Host != app.Host {
		t.Fatalf("status %d redirects off the origin: %q", w.Code, loc)
	}
}

// request builds a request as net/http's server would from a request line
// "METHOD path?query", or returns nil where the server would refuse the line.
func request(method, path, rawQuery, body string, h http.Header) *http.Request {
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodHead, http.MethodPut, http.MethodDelete:
	default:
		method = http.MethodGet
	}
	target := path
	if rawQuery != "" {
		target += "?" + rawQuery
	}
	u, err := url.ParseRequestURI(target)
	if err != nil || strings.ContainsAny(target, " \x00\r\n\t") {
		return nil
	}
	r := &http.Request{Method: method, URL: u, RequestURI: target,
		Header: h, Host: "app.example", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), RemoteAddr: "192.0.2.1:1234"}
	return r
}

// FuzzAuthHandler sends arbitrary requests to the sign-in, callback,
// sign-out, admin-consent, connect and resume endpoints.
func FuzzAuthHandler(f *testing.F) {
	e := newEnv(f)
	h := e.mw.AuthHandler()
	idp := []string{e.idp.URL, e.idp.FrontChannelURL()}
	f.Add("GET", "callback", "state=x&code=y", "", "")
	f.Add("GET", "callback", "error=access_denied&error_description=AADSTS65004%3A+no&state=s", "", "")
	f.Add("GET", "callback", "admin_consent=True&tenant=t&scope=User.Read.All&state=s", "", "")
	f.Add("GET", "signin", "redirect=/mail&scope=Mail.Read", "", "")
	f.Add("GET", "signin", "redirect=%2F%2Fevil.test&claims=%7B%7D", "", "")
	f.Add("POST", "signout", "", "", "https://evil.test")
	f.Add("GET", "adminconsent", "redirect=/directory&scope=User.Read.All", "", "")
	f.Add("GET", "connect", "redirect=/&tenant=contoso.example", "", "")
	f.Add("GET", "resume", "id=abc", "", "")
	f.Fuzz(func(t *testing.T, method, path, rawQuery, body, origin string) {
		hdr := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		if origin != "" {
			hdr.Set("Origin", origin)
		}
		r := request(method, "/auth/"+path, rawQuery, body, hdr)
		if r == nil {
			return
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		checkAnswer(t, w, idp)
	})
}

// FuzzRequire sends arbitrary requests, cookies and headers to a protected route.
func FuzzRequire(f *testing.F) {
	e := newEnv(f)
	h := e.routes(e.mw)
	idp := []string{e.idp.URL, e.idp.FrontChannelURL()}
	f.Add("GET", "/mail", "x=1", "", "consentry=abc", "text/html")
	f.Add("POST", "/mail", "consentry_resume=abc", "a=b", "", "application/json")
	f.Add("GET", "/profile", "", "", "consentry="+strings.Repeat("A", 5000), "")
	f.Fuzz(func(t *testing.T, method, path, rawQuery, body, cookie, accept string) {
		hdr := http.Header{"Cookie": {cookie}, "Accept": {accept}, "Content-Type": {"application/x-www-form-urlencoded"}}
		r := request(method, path, rawQuery, body, hdr)
		if r == nil {
			return
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		checkAnswer(t, w, idp)
	})
}
