package entratest

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// hook is the machine-readable description of a page, in the data-entratest
// attribute of <main id="entratest">. The Browser driver reads it; people and
// headless browsers use the plain forms (buttons id="accept", id="decline",
// one button per user with the UPN as value).
type hook struct {
	Kind   string            `json:"kind"` // signin, consent, admin_approval, adminconsent, error, signedout
	Action string            `json:"action,omitempty"`
	Fields map[string]string `json:"fields,omitempty"`
	Scopes []string          `json:"scopes,omitempty"`
	Roles  []string          `json:"roles,omitempty"`
	Users  []string          `json:"users,omitempty"`
	Org    bool              `json:"org,omitempty"`
	Back   string            `json:"back,omitempty"`
	Error  string            `json:"error,omitempty"`
}

// pageData feeds pageTmpl.
type pageData struct {
	Title, Heading, Message, Error string
	App, User                      string
	Hook                           string
	H                              hook
	Perms                          []pendingScope
	UserList                       []User
	Back                           string
}

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;background:#f2f2f2}main{max-width:28rem;margin:3rem auto;background:#fff;padding:2rem;box-shadow:0 2px 6px #0003}
button{margin:.25rem 0;padding:.5rem 1rem}ul{padding-left:1.2rem}.err{color:#a80000}.users button{display:block;width:100%;text-align:left}</style>
</head><body>
<main id="entratest" data-entratest="{{.Hook}}" data-kind="{{.H.Kind}}">
<p>Microsoft Entra ID (entratest emulator)</p>
<h1>{{.Heading}}</h1>
{{if .User}}<p id="account">{{.User}}</p>{{end}}
{{if .Error}}<p class="err" id="error">{{.Error}}</p>{{end}}
{{if .Message}}<p id="message">{{.Message}}</p>{{end}}
{{if eq .H.Kind "signin"}}
<form method="post" action="{{.H.Action}}" class="users">{{range $k, $v := .H.Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
{{range .UserList}}<button type="submit" name="upn" value="{{.UPN}}" data-upn="{{.UPN}}">{{.DisplayName}} &lt;{{.UPN}}&gt;</button>{{end}}
</form>
<form method="post" action="{{.H.Action}}">{{range $k, $v := .H.Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<label for="upn">Email, phone, or Skype</label> <input id="upn" name="upn" type="email" autocomplete="username">
<button type="submit" id="next">Next</button></form>
{{end}}
{{if or (eq .H.Kind "consent") (eq .H.Kind "adminconsent")}}
<p><strong>{{.App}}</strong> {{if eq .H.Kind "adminconsent"}}needs permission to access resources in your organization:{{else}}would like to:{{end}}</p>
<ul id="permissions">{{range .Perms}}<li data-scope="{{.Perm.Value}}"><strong>{{.Perm.Value}}</strong>{{if .Role}} (application){{end}}: {{.Perm.Description}}{{if .Perm.AdminOnly}} <em>(admin consent required)</em>{{end}}</li>{{end}}</ul>
<form method="post" action="{{.H.Action}}">{{range $k, $v := .H.Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
{{if .H.Org}}<p><label><input type="checkbox" id="consent_org" name="consent_org" value="on"> Consent on behalf of your organization</label></p>{{end}}
<button type="submit" name="action" value="decline" id="decline">Cancel</button>
<button type="submit" name="action" value="accept" id="accept">Accept</button>
</form>
{{end}}
{{if eq .H.Kind "form_post"}}
<form method="post" action="{{.H.Action}}" id="form_post">{{range $k, $v := .H.Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<noscript><p>Script is disabled. Click Submit to continue.</p></noscript><button type="submit" id="submit">Submit</button></form>
{{end}}
{{if eq .H.Kind "admin_approval"}}
<ul id="permissions">{{range .Perms}}<li data-scope="{{.Perm.Value}}"><strong>{{.Perm.Value}}</strong>: {{.Perm.Description}}</li>{{end}}</ul>
<p><a id="back" href="{{.Back}}">Return to the application without granting consent</a></p>
{{end}}
</main></body></html>
`))

// render writes a page with status.
func (s *Server) render(w http.ResponseWriter, status int, d pageData) {
	b, err := json.Marshal(d.H)
	if err != nil {
		http.Error(w, "entratest: render: "+err.Error(), http.StatusInternalServerError)
		return
	}
	d.Hook = string(b)
	if d.Title == "" {
		d.Title = d.Heading
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action *")
	w.WriteHeader(status)
	if err := pageTmpl.Execute(w, d); err != nil {
		s.log.Error("entratest: render page", "err", err)
	}
}

// errorPage shows an error that must not be redirected (status e.Status).
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, e *entraError) {
	s.log.Info("entratest: error page", "code", e.Code, "path", r.URL.Path)
	desc := e.description(newGUID(), correlationID(r), s.now())
	s.render(w, e.Status, pageData{Title: "Sign in", Heading: "Sorry, but we're having trouble signing you in.",
		Error: strings.SplitN(desc, "\r\n", 2)[0], H: hook{Kind: "error", Error: errCodeString(e)}})
}

func errCodeString(e *entraError) string { return "AADSTS" + itoa(e.Code) }

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// signInPage shows the account picker and UPN form.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request, f *flow, sess *session, errMsg string) {
	s.mu.Lock()
	users := s.pickerUsers(f, sess)
	s.mu.Unlock()
	h := hook{Kind: "signin", Action: "/_entratest/signin", Fields: map[string]string{"flow": f.ID}}
	for _, u := range users {
		h.Users = append(h.Users, u.UPN)
	}
	if errMsg != "" {
		h.Error = strings.SplitN(errMsg, ":", 2)[0]
	}
	heading := "Sign in"
	if f.Prompt == "select_account" {
		heading = "Pick an account"
	}
	s.render(w, http.StatusOK, pageData{Heading: heading, Error: errMsg, H: h, UserList: users})
}

// pickerUsers lists session users first, then the users the tenant segment
// (and domain_hint) allows. Caller holds s.mu.
func (s *Server) pickerUsers(f *flow, sess *session) []User {
	var out []User
	seen := map[string]bool{}
	if sess != nil {
		for _, oid := range sess.Users {
			if u := s.user(oid); u != nil && f.Seg.allows(u) && s.domainOK(f, u) {
				out, seen[u.ObjectID] = append(out, *u), true
			}
		}
	}
	for _, t := range s.pickerTenants(f) {
		for _, u := range s.st.members[strings.ToLower(t.ID)] {
			if len(out) >= maxPickerUsers {
				return out
			}
			if !seen[u.ObjectID] && s.domainOK(f, u) {
				out = append(out, *u)
			}
		}
	}
	return out
}

// maxPickerUsers bounds the directory users the sign-in page lists (Entra
// lists none: it asks for a name), so the page stays small in big directories.
const maxPickerUsers = 50

// pickerTenants are the tenants whose users the sign-in page lists, sorted
// by domain. Caller holds s.mu.
func (s *Server) pickerTenants(f *flow) []*Tenant {
	if f.Seg.Tenant != nil {
		return []*Tenant{f.Seg.Tenant}
	}
	out := make([]*Tenant, 0, len(s.st.tenants))
	for _, t := range s.st.tenants {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *Tenant) int { return strings.Compare(a.Domain, b.Domain) })
	return out
}

func permNames(ps []pendingScope, roles bool) []string {
	var out []string
	for _, p := range ps {
		if p.Role != roles {
			continue
		}
		name := p.Perm.Value
		if p.Resource != GraphAppID {
			name = "api://" + p.Resource + "/" + name
		}
		out = append(out, name)
	}
	return out
}

// pageConsent shows the permissions not yet granted.
func (s *Server) pageConsent(w http.ResponseWriter, r *http.Request, f *flow, a *App, u *User, perms []pendingScope) {
	h := hook{Kind: "consent", Action: "/_entratest/consent", Fields: map[string]string{"flow": f.ID},
		Scopes: permNames(perms, false), Org: u.Admin}
	s.render(w, http.StatusOK, pageData{Heading: "Permissions requested", App: a.DisplayName,
		User: u.UPN, H: h, Perms: perms})
}

// pageAdminApproval is Entra's "Need admin approval" page, showing AADSTS90093
// (tenant policy) or AADSTS90094 (a permission only an admin can grant).
func (s *Server) pageAdminApproval(w http.ResponseWriter, r *http.Request, f *flow, a *App, u *User, perms []pendingScope, code int) {
	back := "/_entratest/back?flow=" + f.ID
	h := hook{Kind: "admin_approval", Scopes: permNames(perms, false), Back: back, Error: "AADSTS" + itoa(code)}
	msg := a.DisplayName + " needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it."
	if code == codeConsentPolicy {
		org := s.tenantDisplayName(u.TenantID)
		msg = "An administrator of " + org + " has set a policy that prevents you from granting " + a.DisplayName + " the permissions it is requesting. Contact an administrator of " + org + ", who can grant permissions to this app on your behalf."
	}
	s.render(w, http.StatusOK, pageData{Heading: "Need admin approval", App: a.DisplayName, User: u.UPN,
		Message: msg, H: h, Perms: perms, Back: back})
}

// formPost answers response_mode=form_post: a page whose form posts q to the
// redirect URI (Entra's page submits itself by script; the emulator's pages
// carry no script, so a person clicks Submit and the Browser posts it).
func (s *Server) formPost(w http.ResponseWriter, target string, q url.Values) {
	fields := map[string]string{}
	for k := range q {
		fields[k] = q.Get(k)
	}
	s.render(w, http.StatusOK, pageData{Heading: "Working...", H: hook{Kind: "form_post", Action: target, Fields: fields}})
}

// tenantDisplayName is the display name of a tenant, as the pages name it.
func (s *Server) tenantDisplayName(tenantID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tenant(tenantID); t != nil {
		return t.DisplayName
	}
	return "your organization"
}
