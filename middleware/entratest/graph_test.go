package entratest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/consentry/consentry/middleware/entratest"
)

// graphCall sends one Graph request with token and decodes the JSON answer.
func graphCall(t *testing.T, e *env, token, method, path, body string) (int, map[string]any, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.GraphURL()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: not JSON: %q", method, path, raw)
		}
	}
	return resp.StatusCode, m, string(raw)
}

// graphToken signs the user in with scopes granted for the tenant and returns an access token.
func graphToken(t testing.TB, e *env, scopes string) string {
	t.Helper()
	e.srv.GrantDelegated(e.tenant.ID, e.app.ClientID, "", strings.Fields(scopes)...)
	code, v := e.getCode(t, e.user.UPN, "openid "+scopes)
	_, m := e.postToken(t, e.tenant.ID, e.codeForm(code, v, scopes))
	tok, _ := m["access_token"].(string)
	if tok == "" {
		t.Fatalf("no access token: %v", m)
	}
	return tok
}

// TestGraphMessagesShape: seeded and sent messages come back in Graph's message shape.
func TestGraphMessagesShape(t *testing.T) {
	e := newEnv(t)
	received := time.Date(2026, 1, 1, 9, 30, 0, 0, time.UTC)
	seeded := e.srv.AddMessage(e.user.ObjectID, entratest.Message{Subject: "Welcome", Body: "Hello  Uma,\nwelcome aboard.",
		From: entratest.EmailAddress{Address: e.admin.UPN}, ReceivedDateTime: received})
	if seeded.ID == "" || seeded.From.Name != "Ada Admin" || len(seeded.To) != 1 || seeded.To[0].Address != e.user.UPN {
		t.Fatalf("AddMessage filled in %+v", seeded)
	}
	tok := graphToken(t, e, "Mail.Read Mail.Send")

	status, _, raw := graphCall(t, e, tok, http.MethodPost, "/me/sendMail",
		`{"message":{"subject":"Hi","body":{"contentType":"Text","content":"hello"},"toRecipients":[{"emailAddress":{"address":"`+e.user.UPN+`"}}]},"saveToSentItems":false}`)
	if status != http.StatusAccepted || raw != "" {
		t.Fatalf("sendMail = %d %q, want 202 with an empty body", status, raw)
	}
	status, m, raw := graphCall(t, e, tok, http.MethodGet, "/me/messages", "")
	if status != http.StatusOK || !strings.HasSuffix(str(m["@odata.context"]), "/$metadata#users('"+e.user.ObjectID+"')/messages") {
		t.Fatalf("GET /me/messages = %d %s", status, raw)
	}
	var page struct {
		Value []struct {
			ID, Subject, BodyPreview, ReceivedDateTime, SentDateTime string
			IsRead                                                   bool
			Body                                                     struct{ ContentType, Content string }
			From                                                     struct {
				EmailAddress struct{ Name, Address string }
			}
			ToRecipients []struct {
				EmailAddress struct{ Name, Address string }
			}
		}
	}
	if err := json.Unmarshal([]byte(raw), &page); err != nil || len(page.Value) != 2 {
		t.Fatalf("messages: %v %s", err, raw)
	}
	sent, old := page.Value[0], page.Value[1] // newest first
	if sent.Subject != "Hi" || sent.From.EmailAddress.Address != e.user.UPN || sent.From.EmailAddress.Name != "Uma User" ||
		sent.ToRecipients[0].EmailAddress.Name != "Uma User" || sent.Body.Content != "hello" || sent.ReceivedDateTime != "2026-01-02T03:04:05Z" {
		t.Errorf("sent message = %+v", sent)
	}
	if old.ID != seeded.ID || old.BodyPreview != "Hello Uma, welcome aboard." || old.Body.ContentType != "text" ||
		old.From.EmailAddress.Name != "Ada Admin" || old.ReceivedDateTime != "2026-01-01T09:30:00Z" || old.SentDateTime != old.ReceivedDateTime || old.IsRead {
		t.Errorf("seeded message = %+v", old)
	}
}

// TestGraphSendMailSavesToSentItems: the sender keeps a read copy unless saveToSentItems is false.
func TestGraphSendMailSavesToSentItems(t *testing.T) {
	e := newEnv(t)
	tok := graphToken(t, e, "Mail.Send")
	body := `{"message":{"subject":"Report","body":{"contentType":"html","content":"<p>See <b>attached</b></p>"},"toRecipients":[{"emailAddress":{"address":"` + e.admin.UPN + `"}}]}}`
	if status, _, raw := graphCall(t, e, tok, http.MethodPost, "/me/sendMail", body); status != http.StatusAccepted {
		t.Fatalf("sendMail = %d %s", status, raw)
	}
	got := e.srv.Messages(e.admin.ObjectID)
	if len(got) != 1 || !got[0].BodyHTML || got[0].IsRead || got[0].From.Address != e.user.UPN {
		t.Fatalf("admin's mailbox = %+v", got)
	}
	if mine := e.srv.Messages(e.user.ObjectID); len(mine) != 1 || !mine[0].IsRead || mine[0].Subject != "Report" {
		t.Fatalf("sender's sent copy = %+v", mine)
	}
}

func TestGraphEventsShape(t *testing.T) {
	e := newEnv(t)
	start := time.Date(2026, 1, 5, 14, 0, 0, 0, time.UTC)
	e.srv.AddEvent(e.user.ObjectID, entratest.Event{Subject: "Planning", Body: "Q1 <goals>", Start: start, Location: "Room 1",
		Organizer: entratest.EmailAddress{Address: e.admin.UPN}, Attendees: []entratest.EmailAddress{{Address: e.user.UPN}}})
	tok := graphToken(t, e, "Calendars.Read")
	status, m, raw := graphCall(t, e, tok, http.MethodGet, "/me/events", "")
	if status != http.StatusOK || !strings.HasSuffix(str(m["@odata.context"]), "/events") {
		t.Fatalf("GET /me/events = %d %s", status, raw)
	}
	for _, want := range []string{`"start":{"dateTime":"2026-01-05T14:00:00.0000000","timeZone":"UTC"}`,
		`"end":{"dateTime":"2026-01-05T14:30:00.0000000","timeZone":"UTC"}`, `"location":{"displayName":"Room 1"}`,
		`"organizer":{"emailAddress":{"name":"Ada Admin","address":"admin@contoso.example"}}`,
		`"body":{"contentType":"html","content":"\u003chtml\u003e\u003cbody\u003eQ1 \u0026lt;goals\u0026gt;\u003c/body\u003e\u003c/html\u003e"}`,
		`"type":"required","emailAddress":{"name":"Uma User"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("events lack %s\n%s", want, raw)
		}
	}
}

func TestGraphUserShape(t *testing.T) {
	e := newEnv(t)
	tok := graphToken(t, e, "User.Read")
	status, m, raw := graphCall(t, e, tok, http.MethodGet, "/me", "")
	if status != http.StatusOK || m["id"] != e.user.ObjectID || m["displayName"] != "Uma User" ||
		m["userPrincipalName"] != e.user.UPN || !strings.HasSuffix(str(m["@odata.context"]), "/$metadata#users/$entity") {
		t.Fatalf("GET /me = %d %s", status, raw)
	}
	for _, k := range []string{"businessPhones", "givenName", "surname", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage"} {
		if _, ok := m[k]; !ok {
			t.Errorf("GET /me lacks %q: %s", k, raw)
		}
	}
}

// TestGraphErrors: missing scopes answer 403 with the workload's code, and every
// error has Graph's {"error":{"code","message","innerError"}} shape.
func TestGraphErrors(t *testing.T) {
	e := newEnv(t)
	tok := graphToken(t, e, "User.Read")
	tests := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"GET", "/me/messages", "", 403, "ErrorAccessDenied"},
		{"POST", "/me/sendMail", `{}`, 403, "ErrorAccessDenied"},
		{"GET", "/me/events", "", 403, "ErrorAccessDenied"},
		{"GET", "/users", "", 403, "Authorization_RequestDenied"},
	}
	for _, tc := range tests {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			status, m, raw := graphCall(t, e, tok, tc.method, tc.path, tc.body)
			checkGraphError(t, status, m, raw, tc.status, tc.code)
		})
	}
	t.Run("bad token", func(t *testing.T) {
		status, m, raw := graphCall(t, e, tok+"x", "GET", "/me", "")
		checkGraphError(t, status, m, raw, 401, "InvalidAuthenticationToken")
	})
	t.Run("sendMail without recipients", func(t *testing.T) {
		tok := graphToken(t, e, "Mail.Send")
		for body, code := range map[string]string{
			`{"message":{"subject":"x"}}`: "ErrorInvalidRecipients",
			`not json`:                    "BadRequest",
			`{}`:                          "BadRequest",
		} {
			status, m, raw := graphCall(t, e, tok, "POST", "/me/sendMail", body)
			checkGraphError(t, status, m, raw, 400, code)
		}
		if got := e.srv.Messages(e.user.ObjectID); len(got) != 0 {
			t.Errorf("rejected sendMail kept a sent copy: %+v", got)
		}
	})
}

func checkGraphError(t *testing.T, status int, m map[string]any, raw string, wantStatus int, wantCode string) {
	t.Helper()
	e, _ := m["error"].(map[string]any)
	inner, _ := e["innerError"].(map[string]any)
	if status != wantStatus || e["code"] != wantCode || str(e["message"]) == "" || str(inner["request-id"]) == "" || str(inner["date"]) == "" {
		t.Errorf("got %d %s, want %d with code %s and innerError", status, raw, wantStatus, wantCode)
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// TestClaimsChallengeOnlyForCapableClients: Graph sends claims challenges
// only to clients that declared the cp1 capability (xms_cc); a token of any
// other client keeps working until it expires
// (https://learn.microsoft.com/entra/identity-platform/app-resilience-continuous-access-evaluation).
func TestClaimsChallengeOnlyForCapableClients(t *testing.T) {
	for _, cp1 := range []bool{false, true} {
		e := newEnv(t)
		code, v := e.getCode(t, e.user.UPN, "openid User.Read")
		form := e.codeForm(code, v, "User.Read")
		if cp1 {
			form.Set("claims", cp1Claims)
		}
		_, m := e.postToken(t, e.tenant.ID, form)
		e.srv.RequireClaims(e.user.ObjectID)
		want := 200
		if cp1 {
			want = 401
		}
		if got := graphGet(t, e, m["access_token"].(string), "/me"); got != want {
			t.Fatalf("cp1 %v: GET /me = %d, want %d", cp1, got, want)
		}
	}
}

func TestGraphChecksScopesAndExpiry(t *testing.T) {
	e := newEnv(t)
	code, v := e.getCode(t, e.user.UPN, "openid User.Read")
	_, m := e.postToken(t, e.tenant.ID, e.codeForm(code, v, "User.Read"))
	tok := m["access_token"].(string)
	tests := []struct {
		path string
		want int
	}{{"/me", 200}, {"/me/messages", 403}, {"/me/events", 403}, {"/users", 403}}
	for _, tc := range tests {
		if got := graphGet(t, e, tok, tc.path); got != tc.want {
			t.Errorf("GET %s = %d, want %d", tc.path, got, tc.want)
		}
	}
	if got := graphGet(t, e, tok+"x", "/me"); got != 401 {
		t.Errorf("tampered token = %d", got)
	}
	e.clk.Advance(91 * time.Minute) // past Entra's longest default lifetime
	if got := graphGet(t, e, tok, "/me"); got != 401 {
		t.Errorf("expired token = %d", got)
	}
}
