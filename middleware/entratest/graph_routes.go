package entratest

import (
	"encoding/json"
	"net/http"
	"strings"
)

// serveGraphRoute answers an authorized Graph request.
func (s *Server) serveGraphRoute(w http.ResponseWriter, r *http.Request, route string, c *graphCaller) {
	switch route {
	case "GET /me":
		writeJSON(w, http.StatusOK, userJSON(c.User))
	case "GET /me/messages":
		s.mu.Lock()
		msgs := append([]message{}, s.st.mail[strings.ToLower(c.User.ObjectID)]...)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"value": msgs})
	case "POST /me/sendMail":
		s.sendMail(w, r, c.User)
	case "GET /me/events":
		writeJSON(w, http.StatusOK, map[string]any{"value": []map[string]any{{
			"id": "AAMkAGI1", "subject": "Weekly sync", "organizer": map[string]any{"emailAddress": map[string]string{"address": c.User.UPN}},
		}}})
	case "GET /users":
		s.listUsers(w, c)
	}
}

func userJSON(u *User) map[string]any {
	return map[string]any{
		"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
		"id":             u.ObjectID, "displayName": u.DisplayName, "userPrincipalName": u.UPN, "mail": u.UPN,
	}
}

// listUsers lists the users of the caller's tenant.
func (s *Server) listUsers(w http.ResponseWriter, c *graphCaller) {
	tid := ""
	if c.User != nil {
		tid = c.User.TenantID
	}
	s.mu.Lock()
	users := s.usersOf(tid)
	s.mu.Unlock()
	out := make([]map[string]any, 0, len(users))
	for i := range users {
		if c.User == nil || users[i].TenantID == c.User.TenantID {
			out = append(out, userJSON(&users[i]))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

// sendMail accepts Graph's sendMail body and delivers the message to every
// known recipient's /me/messages (and keeps a copy for the sender). 202 Accepted.
func (s *Server) sendMail(w http.ResponseWriter, r *http.Request, from *User) {
	var body struct {
		Message struct {
			Subject string `json:"subject"`
			Body    struct {
				Content string `json:"content"`
			} `json:"body"`
			To []struct {
				EmailAddress struct {
					Address string `json:"address"`
				} `json:"emailAddress"`
			} `json:"toRecipients"`
		} `json:"message"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Message.To) == 0 {
		graphError(w, http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient is not valid.")
		return
	}
	now := s.now().UTC().Format("2006-01-02T15:04:05Z")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, to := range body.Message.To {
		m := message{ID: randToken(12), Subject: body.Message.Subject, BodyPreview: body.Message.Body.Content,
			From: from.UPN, To: to.EmailAddress.Address, ReceivedDateTime: now}
		if u := s.userByUPN(to.EmailAddress.Address); u != nil {
			k := strings.ToLower(u.ObjectID)
			s.st.mail[k] = append(s.st.mail[k], m)
		}
	}
	w.WriteHeader(http.StatusAccepted)
}
