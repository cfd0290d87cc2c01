package middleware

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/consentry/consentry/middleware/internal/returnurl"
)

// A form post whose handler meets a claims challenge (Challenge) completes
// after the new sign-in like one kept by Require: Require records the body
// of a browser's POST from the app's own pages while the handler reads it,
// and Challenge keeps that copy server-side. Every such POST pays for the
// copy, fast path included, so it stops at MaxChallengeBody (64 KiB, or
// Config.MaxResumeBody if smaller); a larger form meeting a challenge gets
// the "send the form again" page.

// MaxChallengeBody bounds the body of a POST that Require records in case
// its handler calls Challenge (see Middleware.Challenge): 64 KiB.
const MaxChallengeBody = 64 << 10

// errFormNotKept: Challenge on a POST whose body could not be kept.
var errFormNotKept = fmt.Errorf("%w: the form could not be kept across the new sign-in", ErrClaimsChallenge)

type bodyKey struct{}

// bodyRecorder copies what the handler reads from a request body, up to limit.
type bodyRecorder struct {
	io.ReadCloser
	limit int64
	buf   []byte
	over  bool
}

func (b *bodyRecorder) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if !b.over {
		if int64(len(b.buf)+n) > b.limit {
			b.over, b.buf = true, nil
		} else {
			b.buf = append(b.buf, p[:n]...)
		}
	}
	return n, err
}

// recordBody returns r with its POST body recorded for Challenge, or r as is.
func (m *Middleware) recordBody(r *http.Request) *http.Request {
	if !needsKeeping(r) || r.Body == nil || r.Body == http.NoBody || m.cfg.MaxResumeBody < 0 || isScript(r) || !m.sameOrigin(r) {
		return r
	}
	rec := &bodyRecorder{ReadCloser: r.Body, limit: min(m.cfg.MaxResumeBody, MaxChallengeBody)}
	r = r.WithContext(context.WithValue(r.Context(), bodyKey{}, rec))
	r.Body = rec
	return r
}

// keptForChallenge returns r's POST as recorded by Require, reading what the
// handler left unread, or an error wrapping errFormNotKept.
func (m *Middleware) keptForChallenge(r *http.Request) (*keptRequest, error) {
	rec, _ := r.Context().Value(bodyKey{}).(*bodyRecorder)
	if rec == nil {
		return nil, fmt.Errorf("%w: the request did not come through Require, or Config.MaxResumeBody is negative", errFormNotKept)
	}
	if _, err := io.Copy(io.Discard, io.LimitReader(rec, rec.limit+1)); err != nil {
		return nil, fmt.Errorf("%w: read the rest of the body: %w", errFormNotKept, err)
	}
	if rec.over {
		return nil, fmt.Errorf("%w: %w: more than %d bytes (MaxChallengeBody, Config.MaxResumeBody)", errFormNotKept, ErrRequestTooLarge, rec.limit)
	}
	return &keptRequest{Method: r.Method, URL: r.URL.RequestURI(), ContentType: r.Header.Get("Content-Type"), Body: rec.buf}, nil
}

// formNotKept is the page of a POST whose form could not be kept: sign in
// again (with ra's claims and scopes) from the page the form was on, then
// send it again.
func (m *Middleware) formNotKept(r *http.Request, ra reauth, err error) error {
	ret := "/"
	if ref, perr := url.Parse(r.Referer()); perr == nil && m.sameOrigin(r) && returnurl.Valid(ref.RequestURI()) {
		ret = ref.RequestURI()
	}
	return &ConsentError{Scopes: ra.scopes, URL: ra.url(ret), kind: errFormNotKept, cause: err}
}
