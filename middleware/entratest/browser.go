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

	srv []*url.URL // the emulator's origins: URL and FrontChannelURL
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
func (b *Browser) Get(target string) (*Page, error) { return b.run(http.MethodGet, target, nil) }

// PostForm posts v to target, then continues like Get.
func (b *Browser) PostForm(target string, v url.Values) (*Page, error) {
	return b.run(http.MethodPost, target, v)
}

func (b *Browser) run(method, target string, form url.Values) (*Page, error) {
	max := b.MaxHops
	if max <= 0 {
		max = DefaultMaxHops
	}
	var trail []Step
	var last *Page
	for range max {
		page, err := b.send(method, target, form)
		if err != nil {
			return last, err
		}
		step, h := b.classify(page)
		trail = append(trail, step)
		page.Trail, last = trail, page
		next, err := b.next(page, step, h)
		if err != nil || next == nil {
			return page, err
		}
		method, target, form = next.method, next.target, next.form
	}
	return last, fmt.Errorf("%w (%d requests, last %s)", ErrLoop, max, last.URL)
}

// send makes one request without following redirects.
func (b *Browser) send(method, target string, form url.Values) (*Page, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		return nil, fmt.Errorf("entratest: browser: %w", err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := b.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("entratest: browser: %s %s: %w", method, target, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fmt.Errorf("entratest: browser: read %s: %w", target, err)
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
		return nil, nil
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
	return &request{method: http.MethodPost, target: action.String(), form: v}, nil
}
