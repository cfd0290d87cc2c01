package main

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/mail"
	"net/url"
	"strings"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

//go:embed templates
var templateFS embed.FS

// site holds what the pages need: templates, Graph, the middleware (for who is
// signed in, the route's token and the sign-in and sign-out addresses) and, on the
// emulator, the emulator itself (to show what is granted).
type site struct {
	pages    map[string]*template.Template
	graph    *graph
	mw       *middleware.Middleware // attached once it exists: it needs the site's error handler
	emulator *entratest.Server      // nil on the real Entra ID
	clientID string
	log      *slog.Logger
	secure   bool     // the app's public URL is https: cookies are Secure
	flash    *flashes // one-time notices after a redirect
}

// view is what every page template gets.
type view struct {
	Title, Page           string
	Account               *accountView
	SignInURL, SignOutURL string
	Emulator              string // the emulator's URL, "" on the real Entra ID
	Data                  any
}

func loadPages() (map[string]*template.Template, error) {
	names := []string{"home", "profile", "mail", "compose", "directory", "connect", "scopes", "permissions", "adminneeded", "error", "builtin"}
	pages := make(map[string]*template.Template, len(names))
	for _, name := range names {
		t, err := template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("example: parsing template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// static serves the style sheet.
func static() http.Handler {
	sub, _ := fs.Sub(templateFS, "templates")
	return http.StripPrefix("/static/", http.FileServerFS(onlyCSS{sub}))
}

// onlyCSS exposes the .css files of the template directory and nothing else.
type onlyCSS struct{ fs.FS }

func (o onlyCSS) Open(name string) (fs.File, error) {
	if !strings.HasSuffix(name, ".css") {
		return nil, fs.ErrNotExist
	}
	return o.FS.Open(name)
}

// render writes page name with data, as status.
func (s *site) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	ret := r.URL.RequestURI()
	if r.Method != http.MethodGet || strings.HasPrefix(r.URL.Path, "/auth/") {
		ret = "/" // not back to a form post or to the middleware's callback
	}
	// Signing in asks consent to read the profile; the pages post a form to sign out.
	v := view{Title: title, Page: name, Account: s.account(r), Data: data,
		SignInURL: s.mw.SignInURL(ret, "User.Read"), SignOutURL: s.mw.SignOutURL()}
	if s.emulator != nil {
		v.Emulator = s.emulator.URL
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// The example's pages need no script, no frame and nothing from elsewhere; the
	// middleware's resume page loads its script from the middleware's own path.
	script := "'none'"
	if p, ok := data.(middleware.Page); ok && p.Script != "" {
		script = "'self'"
	}
	h.Set("Content-Security-Policy", "default-src 'self'; script-src "+script+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	if err := s.pages[name].ExecuteTemplate(w, "layout", v); err != nil {
		s.log.Error("example: rendering page", "page", name, "err", err)
	}
}

type errorView struct{ Heading, Message, Hint string }

// fail shows an error page for a failed Graph call (or anything else). A claims
// challenge (Conditional Access) goes back to the middleware, which sends the
// user through Entra again and returns here.
func (s *site) fail(w http.ResponseWriter, r *http.Request, err error) {
	if s.mw.Challenge(w, r, err) {
		return
	}
	status, ev := http.StatusBadGateway, errorView{Heading: "Microsoft Graph call failed", Message: err.Error()}
	var ge *graphError
	if errors.As(err, &ge) && ge.Status == http.StatusForbidden {
		ev.Hint = "The token lacks a permission this call needs. See the Scopes page."
	}
	s.log.Warn("example: page failed", "path", r.URL.Path, "err", err)
	s.render(w, r, status, "error", ev.Heading, ev)
}

func (s *site) badRequest(w http.ResponseWriter, r *http.Request, msg string) {
	s.log.Info("example: bad request", "path", r.URL.Path, "reason", msg)
	s.render(w, r, http.StatusBadRequest, "error", "Bad request", errorView{Heading: "Bad request", Message: msg})
}

// home is public: it shows who is signed in, if anyone.
func (s *site) home(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "home", "Home", homeView{Tenants: s.directoryForHome()})
}

func (s *site) notFound(w http.ResponseWriter, r *http.Request) {
	s.log.Info("example: not found", "method", r.Method, "path", r.URL.Path)
	s.render(w, r, http.StatusNotFound, "error", "Not found", errorView{Heading: "Not found", Message: "There is no page at " + r.URL.Path + "."})
}

func (s *site) profile(w http.ResponseWriter, r *http.Request) {
	me, err := s.graph.me(r.Context(), s.mw.Client(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "profile", "Profile", me)
}

func (s *site) mail(w http.ResponseWriter, r *http.Request) {
	msgs, err := s.graph.messages(r.Context(), s.mw.Client(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	me := ""
	if acct := s.account(r); acct != nil {
		me = acct.Username
	}
	rows := make([]mailRow, len(msgs))
	for i, m := range msgs {
		rows[i] = mailRow{receivedMessage: m, Sent: strings.EqualFold(m.From.EmailAddress.Address, me)}
	}
	s.render(w, r, http.StatusOK, "mail", "Mail", rows)
}

// mailRow is a message on the Mail page; Sent marks mail the user sent.
type mailRow struct {
	receivedMessage
	Sent bool
}

func (s *site) directory(w http.ResponseWriter, r *http.Request) {
	users, err := s.graph.users(r.Context(), s.mw.Client(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "directory", "Directory", users)
}

// composeView is the compose form, filled in again after a bad submission.
type composeView struct {
	To, Subject, Body, CSRF string
	Error                   string
	Sent                    *sentView
}

type sentView struct{ To, Subject string }

const csrfCookie = "example_csrf"

// composeForm shows the form, and after a send the confirmation (a one-time
// notice the send left for this browser).
func (s *site) composeForm(w http.ResponseWriter, r *http.Request) {
	v := composeView{CSRF: s.csrfToken(w, r), Sent: s.flash.take(w, r)}
	s.render(w, r, http.StatusOK, "compose", "Compose", v)
}

// composeSend sends the posted message, then redirects (post/redirect/get).
func (s *site) composeSend(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.badRequest(w, r, "The form could not be read: "+err.Error())
		return
	}
	if !csrfOK(r) {
		s.badRequest(w, r, "The form is stale or came from another site: open Compose and send again.")
		return
	}
	to, subject, body := strings.TrimSpace(r.PostFormValue("to")), strings.TrimSpace(r.PostFormValue("subject")), r.PostFormValue("body")
	if _, err := mail.ParseAddress(to); err != nil || subject == "" {
		s.log.Info("example: bad compose form", "path", r.URL.Path)
		s.render(w, r, http.StatusBadRequest, "compose", "Compose", composeView{To: to, Subject: subject, Body: body,
			CSRF: r.PostFormValue("csrf"), Error: "Give a valid recipient address and a subject."})
		return
	}
	m := message{Subject: subject, Body: &itemBody{ContentType: "text", Content: body},
		ToRecipients: []recipient{{EmailAddress: emailAddress{Address: to}}}}
	if err := s.graph.sendMail(r.Context(), s.mw.Client(r), m); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("example: mail sent", "to", to)
	s.flash.put(w, "/compose", sentView{To: to, Subject: subject})
	http.Redirect(w, r, "/compose", http.StatusSeeOther)
}

// csrfToken returns the browser's form token, setting the cookie when it has none
// (double-submit: the form field must match the cookie, which other sites cannot read).
func (s *site) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	b := make([]byte, 32)
	rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: tok, Path: "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode})
	return tok
}

func csrfOK(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || c.Value == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) == 1
}

// connectView is the "Connect your organization" page.
type connectView struct {
	Permissions []pagePermission
	Approved    bool          // back from a successful connect
	Tenants     []tenantState // the tenants the page knows about, and whether they are connected
	ConnectURL  string        // the middleware's connect endpoint, coming back here
}

type tenantState struct {
	Name      string
	Connected bool
}

// connect is the administrator's page: approve the app for the whole organization,
// through the middleware's connect endpoint (Entra's admin consent).
func (s *site) connect(w http.ResponseWriter, r *http.Request) {
	v := connectView{Permissions: appPermissions, Approved: r.URL.Query().Get("connected") == "1",
		ConnectURL: s.mw.ConnectURL("/connect?connected=1", "")}
	for _, t := range s.knownTenants(r) {
		ok, err := s.mw.Onboarded(r.Context(), t.ID)
		if err != nil {
			s.log.Warn("example: reading onboarding", "tenant", t.ID, "err", err)
		}
		v.Tenants = append(v.Tenants, tenantState{Name: t.Name, Connected: ok})
	}
	s.render(w, r, http.StatusOK, "connect", "Connect your organization", v)
}

type knownTenant struct{ ID, Name string }

// knownTenants are the emulator's tenants, or the signed-in user's tenant.
func (s *site) knownTenants(r *http.Request) []knownTenant {
	var out []knownTenant
	if s.emulator != nil {
		for _, t := range exampleDirectory() {
			out = append(out, knownTenant{ID: t.ID, Name: t.DisplayName})
		}
		return out
	}
	if acct, ok := s.mw.Account(r); ok {
		out = append(out, knownTenant{ID: acct.TenantID, Name: "Your organization (" + acct.TenantID + ")"})
	}
	return out
}

// newSite loads the templates; the middleware is attached once it exists (it needs
// the site's error handler). publicURL is the app's URL as browsers see it: its
// scheme decides whether the site's cookies are Secure (behind a TLS proxy the
// app itself serves plain HTTP).
func newSite(idp *identity, publicURL string, log *slog.Logger) (*site, error) {
	pages, err := loadPages()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(publicURL)
	if err != nil {
		return nil, fmt.Errorf("example: public URL %q: %w", publicURL, err)
	}
	secure := u.Scheme == "https"
	return &site{pages: pages, graph: &graph{base: idp.GraphURL}, emulator: idp.Emulator, clientID: idp.ClientID,
		log: log, secure: secure, flash: &flashes{secure: secure}}, nil
}
