package middleware

import (
	"context"
	"html/template"
	"net/http"
	"path"
)

// Page is a page the middleware shows the user: an error (consent declined,
// an administrator must approve, not found, a form from another site, ...),
// the resume page ("Almost done") or the sign-out confirmation.
// Config.RenderPage draws it in the app's layout; the fields hold the
// middleware's default text, to show as is or to replace.
type Page struct {
	Status  int      // the HTTP status to answer with
	Title   string   // the heading, e.g. "The permissions were not granted"
	Message string   // what happened
	Todo    string   // what the user can do
	Scopes  []string // the permissions concerned, if any
	Detail  string   // Entra's description of an error, for support; may be empty
	// Links are the actions offered, in order: "retry" (start sign-in or
	// consent again), "admin" (an absolute link to pass to an
	// administrator), "home" (Config.BasePath).
	Links []Link
	// Form, when set, is a button that posts: the sign-out confirmation's,
	// or the resume page's, which Script submits at once.
	Form *Form
	// Script, when set, is the URL of a script the page must load with
	// <script src>: the resume page's, served by AuthHandler, so the page
	// works under a Content-Security-Policy of script-src 'self'.
	Script string
	// Stylesheet is the URL of the default look's stylesheet, served by
	// AuthHandler; an app's layout ignores it.
	Stylesheet string
	// Err is the error the page reports (nil for the resume and sign-out
	// pages): branch on it with errors.Is to change the text of one error.
	Err error
}

// Link is one action of a Page.
type Link struct {
	ID    string // "retry", "admin" or "home"
	Label string // e.g. "Try again"
	URL   string
}

// Form is a Page's button that posts to Action. Render it as
// <form id="{{.ID}}" method="{{.Method}}" action="{{.Action}}"><button type="submit">{{.Button}}</button></form>:
// the resume page's Script finds it by its id.
type Form struct {
	ID, Method, Action, Button string
}

// DefaultRenderPage is the default Config.RenderPage: a plain HTML page with
// no inline script or style.
func DefaultRenderPage(w http.ResponseWriter, r *http.Request, p Page) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = pageTmpl.Execute(w, p)
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
{{with .Stylesheet}}<link rel="stylesheet" href="{{.}}">{{end}}
</head><body>
<h1>{{.Title}}</h1>
{{with .Message}}<p>{{.}}</p>{{end}}
{{if .Scopes}}<p>Permissions: {{range $i, $s := .Scopes}}{{if $i}}, {{end}}<code>{{$s}}</code>{{end}}</p>{{end}}
{{with .Todo}}<p>{{.}}</p>{{end}}
{{with .Form}}<form id="{{.ID}}" method="{{.Method}}" action="{{.Action}}"><button type="submit" id="{{.ID}}-button">{{.Button}}</button></form>{{end}}
{{range .Links}}{{if eq .ID "admin"}}<p>Link for your administrator: <a id="admin-link" href="{{.URL}}">{{.URL}}</a></p>{{end}}{{end}}
<p>{{range $i, $l := .Links}}{{if ne $l.ID "admin"}}{{if $i}} · {{end}}<a id="{{$l.ID}}-link" href="{{$l.URL}}">{{$l.Label}}</a>{{end}}{{end}}</p>
{{with .Detail}}<p class="detail">Details: {{.}}</p>{{end}}
{{with .Script}}<script src="{{.}}"></script>{{end}}
</body></html>
`))

// errorPage is the Page of err with its default text and links.
func (m *Middleware) errorPage(status int, err error) Page {
	p := explain(err).page(status, err, m.cfg.BasePath)
	p.Stylesheet = m.assetPath(stylesheetName)
	return p
}

// page turns the default text of an error into a Page whose home is home.
func (x page) page(status int, err error, home string) Page {
	p := Page{Status: status, Title: x.Title, Message: x.What, Todo: x.Todo, Scopes: x.Scopes, Detail: x.Detail, Err: err}
	if x.RetryURL != "" {
		p.Links = append(p.Links, Link{ID: "retry", Label: "Try again", URL: x.RetryURL})
	}
	if x.AdminURL != "" {
		p.Links = append(p.Links, Link{ID: "admin", Label: "Link for your administrator", URL: x.AdminURL})
	}
	p.Links = append(p.Links, Link{ID: "home", Label: "Home page", URL: home})
	return p
}

// middlewareKey is the context key under which the middleware hands itself
// to Config.ErrorHandler, for DefaultErrorHandler.
type middlewareKey struct{}

func withMiddleware(r *http.Request, m *Middleware) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), middlewareKey{}, m))
}

// The default look's stylesheet and the resume page's script, served by
// AuthHandler next to its other paths (e.g. /auth/consentry.css).
const (
	stylesheetName = "consentry.css"
	resumeJSName   = "resume.js"
)

var assets = map[string]struct{ typ, body string }{
	stylesheetName: {"text/css; charset=utf-8", `body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
code{background:#f3f3f3;padding:0 .2rem}.detail{color:#666;font-size:.9rem}
`},
	resumeJSName: {"text/javascript; charset=utf-8", `// Consentry: send the form kept across sign-in at once (its Continue button does the same).
(function () {
  var f = document.getElementById("consentry-resume");
  if (f) { HTMLFormElement.prototype.submit.call(f); }
})();
`},
}

// assetPath is the URL path of the asset name.
func (m *Middleware) assetPath(name string) string {
	return path.Join(path.Dir(m.cfg.authPaths.callback), name)
}

// handleAssets serves the stylesheet and the resume script on mux.
func (m *Middleware) handleAssets(mux *http.ServeMux) {
	for name, a := range assets {
		mux.HandleFunc("GET "+m.assetPath(name), func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Type", a.typ)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Cache-Control", "public, max-age=3600")
			_, _ = w.Write([]byte(a.body))
		})
	}
}

// resumePageFor is the "Almost done" page whose form re-posts a kept request to action.
func (m *Middleware) resumePageFor(action string) Page {
	return Page{Status: http.StatusOK, Title: "Almost done",
		Message:    "You are signed in with the permissions this page needs. Your form is ready to send.",
		Form:       &Form{ID: "consentry-resume", Method: "post", Action: action, Button: "Continue"},
		Script:     m.assetPath(resumeJSName),
		Stylesheet: m.assetPath(stylesheetName)}
}

// signOutPage asks the user to confirm a sign-out that came from elsewhere.
func (m *Middleware) signOutPage(status int) Page {
	return Page{Status: status, Title: "Sign out?", Message: "Do you want to sign out of this app?",
		Form:       &Form{ID: "consentry-sign-out", Method: "post", Action: m.cfg.authPaths.signOut, Button: "Sign out"},
		Links:      []Link{{ID: "home", Label: "No, back to the home page", URL: m.cfg.BasePath}},
		Stylesheet: m.assetPath(stylesheetName)}
}
