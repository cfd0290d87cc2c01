package entratest

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// serveGraphRoute answers an authorized Graph request in Microsoft Graph v1.0's
// JSON shapes. Query options ($select, $top, $orderby, $filter) are ignored:
// every property is returned, and collections come in one page without
// @odata.nextLink.
func (s *Server) serveGraphRoute(w http.ResponseWriter, r *http.Request, route string, c *graphCaller) {
	switch route {
	case "GET /me":
		u := s.userJSON(c.User)
		u["@odata.context"] = s.GraphURL() + "/$metadata#users/$entity"
		writeJSON(w, http.StatusOK, u)
	case "GET /me/messages":
		out := []graphMessage{}
		for _, m := range s.Messages(c.User.ObjectID) {
			out = append(out, m.graph())
		}
		s.writeCollection(w, "users('"+c.User.ObjectID+"')/messages", out)
	case "POST /me/sendMail":
		s.sendMail(w, r, c.User)
	case "GET /me/events":
		out := []graphEvent{}
		for _, e := range s.Events(c.User.ObjectID) {
			out = append(out, e.graph())
		}
		s.writeCollection(w, "users('"+c.User.ObjectID+"')/events", out)
	case "GET /users":
		s.listUsers(w, c)
	}
}

// writeCollection writes Graph's collection shape, {"@odata.context": ..., "value": [...]}
// (https://learn.microsoft.com/graph/api/user-list-messages).
// value must be a non-nil slice, so that an empty collection is [] and not null.
func (s *Server) writeCollection(w http.ResponseWriter, context string, value any) {
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": s.GraphURL() + "/$metadata#" + context, "value": value})
}

// userJSON is Graph's user resource with its default properties
// (https://learn.microsoft.com/graph/api/user-get): properties the emulator's
// directory does not hold are null, as Graph answers unset properties.
func (s *Server) userJSON(u *User) map[string]any {
	var job any
	if u.JobTitle != "" {
		job = u.JobTitle
	}
	return map[string]any{
		"id": u.ObjectID, "displayName": u.DisplayName, "userPrincipalName": u.UPN, "mail": u.UPN,
		"jobTitle": job, "businessPhones": []string{}, "givenName": nil, "surname": nil,
		"mobilePhone": nil, "officeLocation": nil, "preferredLanguage": nil,
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
			out = append(out, s.userJSON(&users[i]))
		}
	}
	s.writeCollection(w, "users", out)
}

// sendMailRequest is the body of POST /me/sendMail
// (https://learn.microsoft.com/graph/api/user-sendmail).
type sendMailRequest struct {
	Message *struct {
		Subject      string           `json:"subject"`
		Body         graphBody        `json:"body"`
		ToRecipients []graphRecipient `json:"toRecipients"`
		CcRecipients []graphRecipient `json:"ccRecipients"`
	} `json:"message"`
	SaveToSentItems *bool `json:"saveToSentItems"` // default true
}

// sendMail delivers the message to the mailbox of every recipient who is a
// known user (others are dropped without a bounce) and, unless saveToSentItems
// is false, keeps a read copy in the sender's mailbox: /me/messages lists every
// folder, Sent Items included. It answers 202 Accepted with an empty body.
func (s *Server) sendMail(w http.ResponseWriter, r *http.Request, from *User) {
	var req sendMailRequest
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Message == nil {
		// Guessed from field reports: Graph's answer to a body it cannot read.
		s.graphError(w, r, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
		return
	}
	msg := req.Message
	to := append(addresses(msg.ToRecipients), addresses(msg.CcRecipients)...)
	if len(to) == 0 || slices.ContainsFunc(to, func(a EmailAddress) bool { return a.Address == "" }) {
		// Guessed from field reports.
		s.graphError(w, r, http.StatusBadRequest, "ErrorInvalidRecipients", "At least one recipient isn't valid., A message can't be sent because it contains no recipients.")
		return
	}
	m := Message{Subject: msg.Subject, Body: msg.Body.Content, BodyHTML: strings.EqualFold(msg.Body.ContentType, "html"),
		From: EmailAddress{Name: from.DisplayName, Address: from.UPN}, To: addresses(msg.ToRecipients)}
	s.deliver(m, to, req.SaveToSentItems == nil || *req.SaveToSentItems, from)
	w.WriteHeader(http.StatusAccepted)
}

// deliver stores m in each known recipient's mailbox and, when sent, a read
// copy in the sender's.
func (s *Server) deliver(m Message, to []EmailAddress, sent bool, from *User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.ReceivedDateTime = s.clock()
	m.SentDateTime = m.ReceivedDateTime
	m.To = s.namedAll(m.To)
	for _, a := range to {
		if u := s.userByUPN(a.Address); u != nil {
			m.ID = randToken(24)
			k := strings.ToLower(u.ObjectID)
			s.st.mail[k] = append(s.st.mail[k], m)
		}
	}
	if sent {
		m.ID, m.IsRead = randToken(24), true
		k := strings.ToLower(from.ObjectID)
		s.st.mail[k] = append(s.st.mail[k], m)
	}
}

func addresses(rs []graphRecipient) []EmailAddress {
	out := make([]EmailAddress, 0, len(rs))
	for _, r := range rs {
		out = append(out, EmailAddress{Name: r.EmailAddress.Name, Address: strings.TrimSpace(r.EmailAddress.Address)})
	}
	return out
}
