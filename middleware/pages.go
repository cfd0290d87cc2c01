package middleware

import (
	"encoding/json"
	"errors"
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
		for _, row := range adminFlowText {
			if ce.adminFlow && errors.Is(err, row.err) {
				p.Title, p.What, p.Todo = row.title, row.what, row.todo
				break
			}
		}
	}
	return p
}

// DefaultErrorHandler writes an HTML page that says what happened and what
// the user can do (with a "Try again" link for consent errors) in the
// default look, or a JSON body {"error", "error_description", "signin_url"}
// for scripts. It never redirects, so an error cannot start a loop. Called
// by the middleware (as Config's default ErrorHandler, or from an
// ErrorHandler of the app's that handles some errors and passes the rest
// on), the page is drawn by Config.RenderPage and links home to
// Config.BasePath; called elsewhere, it links home to "/".
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, status int, err error) {
	if m, ok := r.Context().Value(middlewareKey{}).(*Middleware); ok && !isScript(r) {
		m.cfg.RenderPage(w, r, m.errorPage(status, err))
		return
	}
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
	DefaultRenderPage(w, r, p.page(status, err, "/"))
}
