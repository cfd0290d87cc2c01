package middleware

import (
	"net/http"
	"time"
)

// A form kept across consent is read by the middleware itself, before the
// app's handler runs, so a client that sends its body slowly would hold the
// request open as long as it likes unless the server has a ReadTimeout. The
// read of a kept body therefore has a deadline of its own, keptBodyTimeout
// from when it starts (http.ResponseController; servers that cannot set one,
// such as httptest's recorder, are left to their own timeouts). Servers
// should still set ReadTimeout, WriteTimeout and IdleTimeout (see the
// package example).

// keptBodyTimeout bounds the read of a body kept across consent.
const keptBodyTimeout = 15 * time.Second

// boundBodyRead sets the read deadline of r's body on w's connection.
func (m *Middleware) boundBodyRead(w http.ResponseWriter) {
	d := m.keptBodyTimeout
	if d <= 0 {
		d = keptBodyTimeout
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
}
