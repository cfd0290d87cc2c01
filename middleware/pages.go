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

// explanations, in order of precedence: the first sentinel err wraps wins.
var explanations = []struct {
	err               error
	title, what, todo string
}{
	{errFormNotKept, "Please sign in again, then send your form again", "The service this page uses asks for a fresh sign-in (for example multi-factor authentication), and the form you sent could not be kept while you do. It was not sent.", "Sign in again with the link below, then fill in and send the form again."},
	{ErrCrossSiteForm, "Please send the form again from the app", "A form sent from another site (or without saying where it came from) needs you to sign in first. To protect you, it was not kept and will not be sent.", "Please send the form again from the app: open it, go to the page with the form, and send it from there."},
	{errResumeGone, "This form was already sent", "The form you submitted before signing in was already completed, has expired, or was started in another browser. It was not sent again.", "Go back to the page and fill the form in again if needed."},
	{ErrConsentDeclined, "You declined the permissions", "This page needs your permission, and you declined it. Nothing was shared with the app.", "If you change your mind, try again and accept."},
	{ErrAdminConsentRequired, "Your administrator must approve this app", "These permissions can only be granted by an administrator of your organization.", "Send the link below to your IT administrator. Once they approve, try again: you will not be asked again, nor will your colleagues."},
	{ErrConsentRequired, "Permission needed", "This page needs permissions you have not granted yet.", "Try again and accept the permissions."},
	{ErrInteractionRequired, "Permission needed", "This page needs permissions you have not granted yet.", "Try again and accept the permissions."},
	{ErrInvalidState, "This sign-in link is no longer valid", "The sign-in was already completed, took longer than 10 minutes, or was started in another browser.", "Open the page you wanted again; you will be asked to sign in once more if needed."},
	{ErrUnavailable, "Sign-in is temporarily unavailable", "The sign-in service or the token store did not answer in time.", "Wait a minute and reload the page."},
	{ErrSignInFailed, "Sign-in failed", "Microsoft Entra ID did not accept the sign-in.", "Try again. If it keeps failing, contact the app's support with the details below."},
	{ErrLoopDetected, "Sign-in keeps failing for this page", "You were sent to Microsoft several times for this page and it still lacks the permissions or sign-in conditions it needs, so we stopped instead of trying forever.", "Wait ten minutes and try again. If it keeps happening, contact the app's support or your IT administrator."},
	{ErrRequestTooLarge, "Your form is too large to keep", "This page needs you to sign in or grant a permission first, and the data you sent is too large to keep while you do.", "Open the page again, sign in, and then send the form."},
	{ErrSignInRefused, "You cannot sign in to this app", "The app did not accept your sign-in.", "Contact the app's support if you think you should have access."},
	{ErrTenantNotAllowed, "Your organization cannot use this app", "You signed in with an account of an organization this app does not serve. Nothing was kept.", "Sign in with an account of an organization that uses this app, or contact the app's provider."},
	{ErrTenantNotOnboarded, "Your organization has not connected this app yet", "An administrator of your organization must first connect this app. Nothing was kept.", "Send the link below to your IT administrator, then try again."},
	{errNotFound, "Not found", "There is no page at this address.", "Check the address."},
	{ErrAppConsentRequired, "Your organization has not granted this app's permissions", "An administrator of your organization must grant the app's application permissions first.", "Send the link below to your IT administrator, then try again."},
	{ErrClaimsChallenge, "Please sign in again", "The service this page uses asks for a fresh sign-in (for example multi-factor authentication).", "Try again and complete the sign-in."},
}

// explain turns an error into words for the user.
func explain(err error) page {
	p := page{Title: "Something went wrong", What: "The request could not be completed.", Todo: "Go back to the home page and try again."}
	matched := false
	for _, x := range explanations {
		if errors.Is(err, x.err) {
			p, matched = page{Title: x.title, What: x.what, Todo: x.todo}, true
			break
		}
	}
	if !matched && errors.Is(err, ErrInvalidRequest) {
		p = page{Title: "Bad request", What: "The request was not understood: " + strings.TrimPrefix(err.Error(), "middleware: invalid request: "), Todo: "Go back and try again."}
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
