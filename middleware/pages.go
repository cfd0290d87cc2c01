package middleware

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strings"
)

// page is what the default error page says.
type page struct {
	Title, What, Todo string
	Scopes            []string
	RetryURL          string
	Detail            string
	AdminURL          string // a link for an administrator (admin consent or connect)
}

// explain turns an error into words for the user (errorTable).
func explain(err error) page {
	p := page{Title: "Something went wrong", What: "The request could not be completed.", Todo: "Go back to the home page and try again."}
	for _, row := range errorTable {
		if !errors.Is(err, row.err) {
			continue
		}
		if row.title != "" {
			p = page{Title: row.title, What: row.what, Todo: row.todo}
		}
		if row.err == ErrInvalidRequest {
			p.What += strings.TrimPrefix(err.Error(), "middleware: invalid request: ")
		}
		break
	}
	var sre *SignInRefusedError
	if errors.As(err, &sre) && sre.Reason != "" {
		p.What = sre.Reason
	}
	var ace *AppConsentError
	if errors.As(err, &ace) {
		p.AdminURL, p.Scopes = ace.ConnectURL, ace.Roles
	}
	var ce *ConsentError
	if errors.As(err, &ce) {
		p.Scopes, p.RetryURL, p.AdminURL = ce.Scopes, ce.URL, ce.AdminConsentURL
		if ce.Code != 0 || ce.Description != "" {
			p.Detail = ce.Description
		}
		if ce.adminFlow && errors.Is(err, ErrAdminConsentRequired) {
			p.Title = "Only an administrator can approve this"
			p.What = "The account you signed in with is not an administrator of its organization, so it cannot grant these permissions for everyone."
			p.Todo = "Send the link below to an administrator of your organization, or open it again and sign in with an administrator account."
		}
	}
	return p
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}code{background:#f3f3f3;padding:0 .2rem}.detail{color:#666;font-size:.9rem}</style>
</head><body>
<h1>{{.Title}}</h1>
<p>{{.What}}</p>
{{if .Scopes}}<p>Permissions: {{range $i, $s := .Scopes}}{{if $i}}, {{end}}<code>{{$s}}</code>{{end}}</p>{{end}}
<p>{{.Todo}}</p>
{{if .AdminURL}}<p>Link for your administrator: <a id="admin-link" href="{{.AdminURL}}">{{.AdminURL}}</a></p>{{end}}
<p>{{if .RetryURL}}<a href="{{.RetryURL}}">Try again</a> · {{end}}<a href="/">Home page</a></p>
{{if .Detail}}<p class="detail">Details: {{.Detail}}</p>{{end}}
</body></html>
`))

// DefaultErrorHandler is the default Config.ErrorHandler: an HTML page that says
// what happened and what the user can do (with a "Try again" link for consent
// errors), or a JSON body {"error", "error_description", "signin_url"} for
// scripts. It never redirects, so an error cannot start a loop.
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, status int, err error) {
	p := explain(err)
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if isScript(r) {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{
			"error": http.StatusText(status), "error_description": p.Title + ". " + p.What, "signin_url": p.RetryURL,
			"admin_url": p.AdminURL,
		})
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, p)
}
