package middleware

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/consentry/consentry/middleware/internal/protocol"
	"github.com/consentry/consentry/middleware/internal/returnurl"
)

// resumeParam marks the re-post of a kept request (see keep).
const resumeParam = "consentry_resume"

// errResumeGone: a resume link or re-post whose kept request was already
// used, expired, or belongs to another session.
var errResumeGone = fmt.Errorf("%w: this form was already submitted, or the link expired", ErrInvalidState)

// keptRequest is a request that needed consent, kept server-side (sealed, in
// Config.FlowStore) until the user is back: single use, expiring with the flow,
// bound to the browser session.
type keptRequest struct {
	Method      string `json:"m"`
	URL         string `json:"u"` // path and query
	ContentType string `json:"ct,omitempty"`
	Body        []byte `json:"b,omitempty"`
	SID         string `json:"sid"`
}

// needsKeeping reports whether r is a form post to keep. Browsers send other
// methods only from scripts, which get a 401 rather than a round trip.
func needsKeeping(r *http.Request) bool { return r.Method == http.MethodPost }

// readKept reads r into a keptRequest, or fails with ErrCrossSiteForm (r
// is not from the app's own pages: keeping it would let another site post
// with the user's token after the round trip) or ErrRequestTooLarge. Without
// a signed-in user in sess the body is kept up to MaxAnonymousResumeBody.
func (m *Middleware) readKept(r *http.Request, sess *session) (*keptRequest, error) {
	if err := m.keepable(r); err != nil {
		return nil, err
	}
	limit := m.cfg.MaxResumeBody
	if sess.account.HomeAccountID == "" {
		limit = min(limit, MaxAnonymousResumeBody)
	}
	if limit < 0 || r.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d (Config.MaxResumeBody)", ErrRequestTooLarge, r.ContentLength, max(limit, 0))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read the request body: %w", ErrInvalidRequest, err)
	}
	if len(body) == 0 {
		body = parsedForm(r)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: more than %d bytes (Config.MaxResumeBody)", ErrRequestTooLarge, limit)
	}
	return &keptRequest{Method: r.Method, URL: m.requestURI(r), ContentType: r.Header.Get("Content-Type"), Body: body}, nil
}

// keepable checks that r may be kept and posted again after a round trip:
// only a form from the app's own pages (sameOrigin, as for sign-out), to a
// URL that is a path on this site (the resume page's form action).
func (m *Middleware) keepable(r *http.Request) error {
	if !m.sameOrigin(r) {
		return fmt.Errorf("%w: %s %s (Origin %q, Sec-Fetch-Site %q)", ErrCrossSiteForm,
			r.Method, r.URL.Path, r.Header.Get("Origin"), r.Header.Get("Sec-Fetch-Site"))
	}
	if !returnurl.Valid(m.requestURI(r)) {
		return fmt.Errorf("%w: the form's URL is not a plain path on this site, so it cannot be sent again after sign-in", ErrInvalidRequest)
	}
	return nil
}

// keep stores k for the session sid and returns its id.
func (m *Middleware) keep(ctx context.Context, k *keptRequest, sid string) (string, error) {
	id := protocol.Random(24)
	k.SID = sid
	if err := m.resumes.Put(ctx, id, k, FlowTTL); err != nil {
		return "", fmt.Errorf("%w: keep the request: %w", ErrUnavailable, err)
	}
	return id, nil
}

// rebindKept moves the kept request id to the session sid (a first sign-in
// gives the session a new binding id).
func (m *Middleware) rebindKept(ctx context.Context, id, sid string) error {
	var k keptRequest
	found, err := m.resumes.Take(ctx, id, &k)
	if err != nil || !found {
		return err
	}
	k.SID = sid
	return m.resumes.Put(ctx, id, &k, FlowTTL)
}

// resumeURL is the app-relative page that re-posts the kept request id.
func (m *Middleware) resumeURL(id string) string {
	return m.cfg.authPaths.resume + "?" + url.Values{"id": {id}}.Encode()
}

// resumePage serves GET /auth/resume?id=...: a page whose form posts to the
// original URL (plus consentry_resume=id), submitted by a script at once or
// by the user's click, drawn by Config.RenderPage. Require swaps the kept body back in. The page itself
// changes nothing: only the post uses the kept request, once.
func (m *Middleware) resumePage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	var k keptRequest
	found, err := m.resumes.Get(r.Context(), id, &k)
	switch {
	case err != nil:
		m.fail(w, r, fmt.Errorf("%w: %w", ErrUnavailable, err))
		return
	case id == "" || !found || k.SID == "" || k.SID != m.loadSession(r).sid:
		m.fail(w, r, errResumeGone)
		return
	}
	action := k.URL + sepFor(k.URL) + url.Values{resumeParam: {id}}.Encode()
	w.Header().Set("Cache-Control", "no-store")
	m.cfg.RenderPage(w, r, m.resumePageFor(action))
}

func sepFor(u string) string {
	if strings.Contains(u, "?") {
		return "&"
	}
	return "?"
}

// resumed handles the re-post of a kept request at a Require route: it
// returns r with the kept method, query, content type and body, or writes an
// error page and returns ok=false (already used, expired, other session:
// the handler does not run). Requests without the marker pass unchanged.
func (m *Middleware) resumed(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	if r.Method != http.MethodPost || !strings.Contains(r.URL.RawQuery, resumeParam) {
		return r, true
	}
	id := r.URL.Query().Get(resumeParam)
	if id == "" {
		return r, true
	}
	var k keptRequest
	found, err := m.resumes.Get(r.Context(), id, &k)
	if err == nil && found && m.ownsKept(r, &k) {
		found, err = m.resumes.Take(r.Context(), id, &k) // single use, also across replicas
	} else if err == nil {
		found = false // someone else's or unknown: leave it to its owner
	}
	switch {
	case err != nil:
		m.fail(w, r, fmt.Errorf("%w: %w", ErrUnavailable, err))
		return nil, false
	case !found:
		m.fail(w, r, errResumeGone)
		return nil, false
	}
	return rebuild(r, &k), true
}

// ownsKept reports whether k belongs to r's session and path.
func (m *Middleware) ownsKept(r *http.Request, k *keptRequest) bool {
	return k.SID != "" && k.SID == m.loadSession(r).sid && samePath(k.URL, m.requestPath(r))
}

// samePath reports whether the kept URL's path is p.
func samePath(kept, p string) bool {
	u, err := url.Parse(kept)
	return err == nil && returnurl.Valid(kept) && u.Path == p
}

// rebuild returns a copy of r carrying the kept request.
func rebuild(r *http.Request, k *keptRequest) *http.Request {
	u, _ := url.Parse(k.URL)
	r2 := r.Clone(r.Context())
	r2.Method = k.Method
	r2.URL.RawQuery = u.RawQuery
	r2.RequestURI = k.URL
	r2.Body = io.NopCloser(bytes.NewReader(k.Body))
	r2.ContentLength = int64(len(k.Body))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(k.Body)), nil }
	r2.Header.Set("Content-Length", strconv.Itoa(len(k.Body)))
	r2.Header.Del("Content-Type")
	if k.ContentType != "" {
		r2.Header.Set("Content-Type", k.ContentType)
	}
	r2.Form, r2.PostForm, r2.MultipartForm = nil, nil, nil
	return r2
}

// A form post whose handler meets a claims challenge (Challenge) completes
// after the new sign-in like one kept by Require: Require records the body
// of a browser's POST from the app's own pages while the handler reads it,
// and Challenge keeps that copy server-side. Every such POST pays for the
// copy, fast path included, so it stops at MaxChallengeBody (64 KiB, or
// Config.MaxResumeBody if smaller); a larger form meeting a challenge gets
// the "send the form again" page.

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
	body := rec.buf
	if len(body) == 0 {
		body = parsedForm(r)
	}
	return &keptRequest{Method: r.Method, URL: m.requestURI(r), ContentType: r.Header.Get("Content-Type"), Body: body}, nil
}
