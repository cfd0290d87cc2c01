package entratest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// ConsentAction is how a Browser answers consent pages.
type ConsentAction int

// Consent answers.
const (
	// Accept consents for the signed-in user only (and approves admin consent).
	Accept ConsentAction = iota
	// Decline cancels consent (and admin consent).
	Decline
	// AcceptForOrganization ticks "Consent on behalf of your organization";
	// the page offers it to admins only.
	AcceptForOrganization
)

// ErrLoop is returned (wrapped) when a Browser stops after MaxHops requests.
var ErrLoop = errors.New("entratest: browser: too many redirects and pages, the flow looped")

// DefaultMaxHops is the number of requests a Browser makes per Get or PostForm
// when MaxHops is zero.
const DefaultMaxHops = 20

// Browser is a scripted user agent for whole-flow tests: it has its own cookie
// jar, follows redirects between the app and the emulator, signs in on the
// emulator's sign-in page as User and answers consent pages per Consent.
//
// Like a browser, it posts a form from the page it is on: with Origin,
// Referer and Fetch metadata (Sec-Fetch-Site same-origin when the form's
// page and target share an origin, same-site when only the port differs,
// else cross-site), so an app's
// same-origin checks see what a real browser sends. PostForm posts from the
// page the Browser last stopped at (or, before any, from the target's own
// origin). It submits the middleware's resume page ("Almost done", a form
// with id consentry-resume that a script submits at once) unless NoScript
// is set. Fetch makes one request the way a page's script does.
// A Browser is not safe for concurrent use.
type Browser struct {
	// Client sends the requests; its CheckRedirect must return
	// http.ErrUseLastResponse (NewBrowser's does) so the Browser sees each hop.
	Client *http.Client
	// User is the UPN to sign in as when a sign-in page appears.
	User string
	// Consent is the answer to consent and admin-consent pages.
	Consent ConsentAction
	// MaxHops bounds the requests per Get or PostForm; 0 means DefaultMaxHops.
	MaxHops int
	// Header is added to every request to an origin other than the
	// emulator's (the app), replacing what the Browser would send: e.g.
	// HX-Request for htmx, or an Origin to test a form from another site.
	Header http.Header
	// NoScript makes the Browser stop at the resume page, as one with
	// JavaScript off does, instead of submitting it.
	NoScript bool

	srv []*url.URL // the emulator's origins: URL and FrontChannelURL
	at  *url.URL   // the page the Browser is on: the last response that was not a redirect
}

// Page is where a Browser stopped: an app response, an emulator page it does
// not answer (error, signed out) or the last page before an error.
type Page struct {
	URL        *url.URL
	StatusCode int
	Header     http.Header
	Body       string
	// Trail lists every response on the way, in order.
	Trail []Step
}

// Step is one response seen by a Browser. Kind is "signin", "consent",
// "admin_approval", "adminconsent", "form_post", "error" or "signedout" for emulator pages,
// "redirect" for emulator redirects, and "app" for any response from
// elsewhere. Scopes (and Roles) are the permissions a consent, admin-consent
// or admin-approval page listed: short names for Graph, "api://{id}/x" for others.
type Step struct {
	URL    string
	Kind   string
	Status int
	Scopes []string
	Roles  []string
	// Error is the AADSTS code an emulator page showed, e.g. "AADSTS50011".
	Error string
}

// NewBrowser returns a Browser with an empty cookie jar that trusts the
// emulator's certificate and the given ones (e.g. an app's httptest server).
func (s *Server) NewBrowser(trust ...*x509.Certificate) *Browser {
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	for _, c := range trust {
		pool.AddCert(c)
	}
	jar, _ := cookiejar.New(nil)
	var origins []*url.URL
	for _, o := range []string{s.URL, s.FrontChannelURL()} {
		if u, err := url.Parse(o); err == nil {
			origins = append(origins, u)
		}
	}
	return &Browser{srv: origins, Client: &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true},
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}}
}

// Get loads target and walks redirects and emulator pages until an app page
// or an emulator page the Browser does not answer.
func (b *Browser) Get(target string) (*Page, error) {
	return b.run(&request{method: http.MethodGet, target: target})
}

// PostForm posts v to target from the page the Browser is on, then
// continues like Get.
func (b *Browser) PostForm(target string, v url.Values) (*Page, error) {
	if v == nil {
		v = url.Values{}
	}
	return b.run(&request{method: http.MethodPost, target: target, form: v, from: b.at})
}

// URL is the page the Browser is on: the last response it got that was not
// a redirect (nil before any).
func (b *Browser) URL() *url.URL { return b.at }

func (b *Browser) run(req *request) (*Page, error) {
	max := b.MaxHops
	if max <= 0 {
		max = DefaultMaxHops
	}
	var trail []Step
	var last *Page
	for range max {
		page, err := b.send(req)
		if err != nil {
			return last, err
		}
		step, h := b.classify(page)
		trail = append(trail, step)
		page.Trail, last = trail, page
		if step.Kind != "redirect" && (page.StatusCode < 300 || page.StatusCode >= 400) {
			b.at = page.URL
		}
		next, err := b.next(page, step, h)
		if err != nil || next == nil {
			return page, err
		}
		req = next
	}
	return last, fmt.Errorf("%w (%d requests, last %s)", ErrLoop, max, last.URL)
}

// send makes one request without following redirects.
func (b *Browser) send(r *request) (*Page, error) {
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	req, err := http.NewRequest(r.method, r.target, body)
	if err != nil {
		return nil, fmt.Errorf("entratest: browser: %w", err)
	}
	if r.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		b.fromPage(req, r.from, "navigate", "document")
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	return b.do(req, r.header)
}

// do sends req with the header h and b.Header (to the app only) set on it.
func (b *Browser) do(req *http.Request, h http.Header) (*Page, error) {
	for k, v := range h {
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	if !b.isEmulator(req.URL) {
		for k, v := range b.Header {
			req.Header[http.CanonicalHeaderKey(k)] = v
		}
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("entratest: browser: %s %s: %w", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("entratest: browser: read %s: %w", req.URL, err)
	}
	return &Page{URL: resp.Request.URL, StatusCode: resp.StatusCode, Header: resp.Header, Body: string(data)}, nil
}

var hookRE = regexp.MustCompile(`data-entratest="([^"]*)"`)

// classify names the response and reads the emulator page's hook.
func (b *Browser) classify(p *Page) (Step, *hook) {
	st := Step{URL: p.URL.String(), Kind: "app", Status: p.StatusCode}
	if !b.isEmulator(p.URL) {
		return st, nil
	}
	if p.StatusCode >= 300 && p.StatusCode < 400 {
		st.Kind = "redirect"
		return st, nil
	}
	m := hookRE.FindStringSubmatch(p.Body)
	if m == nil {
		st.Kind = "error"
		return st, nil
	}
	h := &hook{}
	if json.Unmarshal([]byte(html.UnescapeString(m[1])), h) != nil {
		st.Kind = "error"
		return st, nil
	}
	st.Kind, st.Scopes, st.Roles, st.Error = h.Kind, h.Scopes, h.Roles, h.Error
	return st, h
}

// isEmulator reports whether u is on one of the emulator's origins (its TLS
// listener or its plain-HTTP front channel).
func (b *Browser) isEmulator(u *url.URL) bool {
	for _, o := range b.srv {
		if u.Scheme == o.Scheme && strings.EqualFold(u.Host, o.Host) {
			return true
		}
	}
	return false
}

type request struct {
	method, target string
	form           url.Values
	from           *url.URL    // the page a form is posted from
	header         http.Header // set on the request
}

// next decides the following request, or nil to stop.
func (b *Browser) next(p *Page, st Step, h *hook) (*request, error) {
	if p.StatusCode >= 300 && p.StatusCode < 400 {
		loc, err := p.URL.Parse(p.Header.Get("Location"))
		if err != nil || p.Header.Get("Location") == "" {
			return nil, fmt.Errorf("entratest: browser: bad redirect from %s", p.URL)
		}
		return &request{method: http.MethodGet, target: loc.String()}, nil
	}
	if h == nil {
		return b.resume(p), nil
	}
	switch h.Kind {
	case "signin":
		return b.signIn(p, h)
	case "consent", "adminconsent":
		return b.consent(p, h)
	case "form_post":
		return b.submit(p, h, url.Values{})
	case "admin_approval":
		back, err := p.URL.Parse(h.Back)
		if err != nil {
			return nil, fmt.Errorf("entratest: browser: bad back link: %w", err)
		}
		return &request{method: http.MethodGet, target: back.String()}, nil
	}
	return nil, nil
}

func (b *Browser) signIn(p *Page, h *hook) (*request, error) {
	if b.User == "" {
		return nil, errors.New("entratest: browser: sign-in page shown but Browser.User is empty")
	}
	if h.Error != "" {
		return nil, fmt.Errorf("entratest: browser: sign-in as %q failed: %s", b.User, h.Error)
	}
	return b.submit(p, h, url.Values{"upn": {b.User}})
}

func (b *Browser) consent(p *Page, h *hook) (*request, error) {
	v := url.Values{"action": {"accept"}}
	switch {
	case b.Consent == Decline:
		v.Set("action", "decline")
	case b.Consent == AcceptForOrganization && h.Kind == "consent":
		if !h.Org {
			return nil, fmt.Errorf("entratest: browser: %q is not offered \"Consent on behalf of your organization\"", b.User)
		}
		v.Set("consent_org", "on")
	}
	return b.submit(p, h, v)
}

func (b *Browser) submit(p *Page, h *hook, v url.Values) (*request, error) {
	action, err := p.URL.Parse(h.Action)
	if err != nil {
		return nil, fmt.Errorf("entratest: browser: bad form action: %w", err)
	}
	for k, x := range h.Fields {
		v.Set(k, x)
	}
	return &request{method: http.MethodPost, target: action.String(), form: v, from: p.URL}, nil
}

// What a Browser does that a page's scripts would: send a form with the
// headers browsers add, submit the middleware's auto-submitting resume page,
// and fetch() from a page.

// fromPage sets on req the headers a browser sends with a request made from
// the page from (nil: a page on req's own origin): Origin, Referer and
// Fetch metadata (https://www.w3.org/TR/fetch-metadata/).
func (b *Browser) fromPage(req *http.Request, from *url.URL, mode, dest string) {
	if from == nil {
		from = &url.URL{Scheme: req.URL.Scheme, Host: req.URL.Host, Path: "/"}
	}
	site := "cross-site"
	switch {
	case origin(from) == origin(req.URL):
		site = "same-origin"
	case from.Scheme == req.URL.Scheme && strings.EqualFold(from.Hostname(), req.URL.Hostname()):
		site = "same-site" // another port of the same host (the Browser knows no registrable domains)
	}
	ref := *from
	ref.Fragment = ""
	req.Header.Set("Origin", origin(from))
	req.Header.Set("Referer", ref.String())
	req.Header.Set("Sec-Fetch-Site", site)
	req.Header.Set("Sec-Fetch-Mode", mode)
	req.Header.Set("Sec-Fetch-Dest", dest)
}

func origin(u *url.URL) string { return strings.ToLower(u.Scheme + "://" + u.Host) }

var (
	resumeFormRE = regexp.MustCompile(`<form\b[^>]*\bid="consentry-resume"[^>]*>`)
	actionAttrRE = regexp.MustCompile(`\baction="([^"]*)"`)
)

// resume returns the post of the middleware's resume page p, which a script
// submits at once, or nil when p is not one or NoScript is set.
func (b *Browser) resume(p *Page) *request {
	if b.NoScript || p.StatusCode != http.StatusOK {
		return nil
	}
	form := resumeFormRE.FindString(p.Body)
	m := actionAttrRE.FindStringSubmatch(form)
	if m == nil {
		return nil
	}
	action, err := p.URL.Parse(html.UnescapeString(m[1]))
	if err != nil {
		return nil
	}
	return &request{method: http.MethodPost, target: action.String(), form: url.Values{}, from: p.URL}
}

// Fetch makes one GET of target the way a script on the Browser's page
// does with fetch(): Accept */*, Referer the page, Sec-Fetch-Mode cors,
// Sec-Fetch-Dest empty, plus header (e.g. HX-Request and HX-Current-URL for
// htmx). It does not follow redirects: the Page is the answer.
func (b *Browser) Fetch(target string, header http.Header) (*Page, error) {
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	b.fromPage(req, b.at, "cors", "empty")
	if origin(req.URL) == req.Header.Get("Origin") {
		req.Header.Del("Origin") // a same-origin GET carries none
	}
	req.Header.Set("Accept", "*/*")
	p, err := b.do(req, header)
	if err != nil {
		return nil, err
	}
	st, _ := b.classify(p)
	p.Trail = []Step{st}
	return p, nil
}
