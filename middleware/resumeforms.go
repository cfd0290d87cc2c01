package middleware

import (
	"mime"
	"net/http"
)

// ResumeForms restores a form kept across sign-in or consent (see Require)
// before the handlers it wraps see the request, so that middleware checking
// the form itself, such as gorilla/csrf's token check, gets the original
// fields rather than the resume page's empty re-post. Put it outermost:
//
//	handler := mw.ResumeForms(csrf.Protect(key)(mux))
//
// With Config.AppSession it reads the session through the app's session
// middleware, so that one must come first: with scs,
// sm.LoadAndSave(mw.ResumeForms(csrf.Protect(key)(mux))).
//
// It changes only the re-post of a kept form (POST with the
// consentry_resume parameter, from the session that kept it, to the URL it
// was kept for), exactly as Require would, once; every other request passes
// through untouched. Without it Require restores the form itself, which is
// enough for apps whose CSRF protection checks where a request comes from
// (http.CrossOriginProtection, SameSite cookies) rather than a token in the
// body.
// Require keeps a urlencoded form that a middleware in front of it parsed
// already (as gorilla/csrf does) from its parsed fields.
func (m *Middleware) ResumeForms(next http.Handler) http.Handler {
	if next == nil {
		panic("middleware: ResumeForms applied to a nil handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, ok := m.resumed(w, r)
		if ok {
			next.ServeHTTP(w, r)
		}
	})
}

// parsedForm returns the body of a urlencoded form post that a middleware in
// front of Require (gorilla/csrf, a logger calling r.FormValue) already
// parsed, draining the body: its fields, encoded again. It returns nil for
// other requests. A multipart form parsed that way cannot be kept.
func parsedForm(r *http.Request) []byte {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if r.PostForm == nil || r.MultipartForm != nil || ct != "application/x-www-form-urlencoded" {
		return nil
	}
	return []byte(r.PostForm.Encode())
}
