package middleware

import (
	"net/http"

	"github.com/gorilla/sessions"
)

// renewID gives a server-side session (Config.Sessions such as gorilla's
// FilesystemStore or a Redis store, whose cookie holds only an id) a new id
// when a user signs in, and erases the old one from the store, so an id
// planted in the browser before sign-in (session fixation) is worth nothing
// afterwards. The default cookie store has no id: its cookie changes anyway.
func (s *session) renewID(r *http.Request) {
	s.renew = false
	if s.raw.ID == "" {
		return
	}
	old := *s.raw
	opts := sessions.Options{Path: "/"}
	if s.raw.Options != nil {
		opts = *s.raw.Options
	}
	opts.MaxAge = -1
	old.Options, old.Values = &opts, map[any]any{}
	// Save with MaxAge -1 erases the stored session; its expiring cookie goes
	// nowhere (the new session's cookie replaces the old one). A store that
	// cannot erase keeps only the pre-sign-in values under the old id.
	_ = old.Store().Save(r, discardWriter{}, &old)
	s.raw.ID, s.raw.IsNew = "", true
}

// discardWriter is a ResponseWriter that drops everything.
type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (discardWriter) WriteHeader(int)             {}
