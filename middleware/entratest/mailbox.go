package entratest

import (
	"fmt"
	"html"
	"regexp"
	"slices"
	"strings"
	"time"
)

// EmailAddress is a mail address with an optional display name, Graph's
// emailAddress resource.
type EmailAddress struct {
	// Name is the display name; AddMessage and AddEvent fill it in from the
	// directory when the address is a known user's UPN.
	Name string
	// Address is the SMTP address, e.g. "adele@contoso.example".
	Address string
}

// Message is a mail in a user's mailbox, as AddMessage takes it and Messages
// returns it. GET /me/messages answers it in the JSON shape of Graph's message
// resource (id, subject, bodyPreview, body, from, sender, toRecipients,
// receivedDateTime, sentDateTime, isRead).
type Message struct {
	// ID is the message id; AddMessage generates one when empty.
	ID string
	// Subject is the subject line.
	Subject string
	// Body is the content; bodyPreview is its first 255 characters as text.
	Body string
	// BodyHTML marks Body as HTML (contentType "html"); the default is "text".
	BodyHTML bool
	// From is the sender; AddMessage requires its Address.
	From EmailAddress
	// To are the recipients; AddMessage defaults them to the mailbox's owner.
	To []EmailAddress
	// ReceivedDateTime defaults to the emulator's clock (SetClock).
	ReceivedDateTime time.Time
	// SentDateTime defaults to ReceivedDateTime.
	SentDateTime time.Time
	// IsRead marks the message as read.
	IsRead bool
}

// Event is a meeting in a user's calendar, as AddEvent takes it and Events
// returns it. GET /me/events answers it in the JSON shape of Graph's event
// resource, with start and end in UTC.
type Event struct {
	// ID is the event id; AddEvent generates one when empty.
	ID string
	// Subject is the event's title.
	Subject string
	// Body is plain text; Graph (and the emulator) answers event bodies as HTML.
	Body string
	// Start defaults to the next full hour of the emulator's clock.
	Start time.Time
	// End defaults to Start plus 30 minutes.
	End time.Time
	// Location is the location's display name, e.g. "Room 2.14" or "Teams".
	Location string
	// Organizer defaults to the calendar's owner.
	Organizer EmailAddress
	// Attendees are required attendees.
	Attendees []EmailAddress
}

// AddMessage puts m into the mailbox of the user with object id userOID, as if
// it had been delivered, and returns it with generated fields filled in. It
// panics if the user is unknown or m.From has no address, as test setup
// mistakes should be loud.
func (s *Server) AddMessage(userOID string, m Message) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	owner := s.user(userOID)
	if owner == nil {
		panic(fmt.Sprintf("entratest: AddMessage: unknown user %q", userOID))
	}
	if m.From.Address == "" {
		panic("entratest: AddMessage: Message.From.Address is empty")
	}
	if m.ID == "" {
		m.ID = randToken(24)
	}
	if len(m.To) == 0 {
		m.To = []EmailAddress{{Address: owner.UPN}}
	}
	m.From = s.named(m.From)
	m.To = s.namedAll(m.To)
	if m.ReceivedDateTime.IsZero() {
		m.ReceivedDateTime = s.clock()
	}
	if m.SentDateTime.IsZero() {
		m.SentDateTime = m.ReceivedDateTime
	}
	k := strings.ToLower(owner.ObjectID)
	s.st.mail[k] = append(s.st.mail[k], m)
	return m
}

// AddEvent puts e into the calendar of the user with object id userOID and
// returns it with generated fields filled in. It panics if the user is unknown.
func (s *Server) AddEvent(userOID string, e Event) Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	owner := s.user(userOID)
	if owner == nil {
		panic(fmt.Sprintf("entratest: AddEvent: unknown user %q", userOID))
	}
	if e.ID == "" {
		e.ID = randToken(24)
	}
	if e.Start.IsZero() {
		e.Start = s.clock().Truncate(time.Hour).Add(time.Hour)
	}
	if e.End.IsZero() {
		e.End = e.Start.Add(30 * time.Minute)
	}
	if e.Organizer.Address == "" {
		e.Organizer.Address = owner.UPN
	}
	e.Organizer = s.named(e.Organizer)
	e.Attendees = s.namedAll(e.Attendees)
	k := strings.ToLower(owner.ObjectID)
	s.st.events[k] = append(s.st.events[k], e)
	return e
}

// Messages returns the messages in a user's mailbox (those added by AddMessage,
// delivered by POST /me/sendMail, and saved as sent), newest first.
func (s *Server) Messages(userOID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs := slices.Clone(s.st.mail[strings.ToLower(userOID)])
	// Graph documents no default order for /me/messages; newest first is what
	// Outlook shows (guessed).
	slices.SortStableFunc(msgs, func(a, b Message) int { return b.ReceivedDateTime.Compare(a.ReceivedDateTime) })
	return msgs
}

// Events returns the events in a user's calendar, earliest first.
func (s *Server) Events(userOID string) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	evs := slices.Clone(s.st.events[strings.ToLower(userOID)])
	slices.SortStableFunc(evs, func(a, b Event) int { return a.Start.Compare(b.Start) })
	return evs
}

// named fills in the display name of a known user's address. Caller holds s.mu.
func (s *Server) named(a EmailAddress) EmailAddress {
	if a.Name == "" {
		if u := s.userByUPN(a.Address); u != nil {
			a.Name = u.DisplayName
		}
	}
	if a.Name == "" {
		a.Name = a.Address // the address as its own name, for an unknown sender (guessed)
	}
	return a
}

func (s *Server) namedAll(as []EmailAddress) []EmailAddress {
	out := make([]EmailAddress, len(as))
	for i, a := range as {
		out[i] = s.named(a)
	}
	return out
}

// The JSON shapes below are Microsoft Graph v1.0's:
// message https://learn.microsoft.com/graph/api/resources/message,
// recipient https://learn.microsoft.com/graph/api/resources/recipient,
// itemBody https://learn.microsoft.com/graph/api/resources/itembody,
// event https://learn.microsoft.com/graph/api/resources/event and
// dateTimeTimeZone https://learn.microsoft.com/graph/api/resources/datetimetimezone.

type graphAddress struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

type graphRecipient struct {
	EmailAddress graphAddress `json:"emailAddress"`
}

type graphBody struct {
	ContentType string `json:"contentType"` // "text" or "html"
	Content     string `json:"content"`
}

type graphMessage struct {
	ID               string           `json:"id"`
	ReceivedDateTime string           `json:"receivedDateTime"`
	SentDateTime     string           `json:"sentDateTime"`
	Subject          string           `json:"subject"`
	BodyPreview      string           `json:"bodyPreview"`
	IsRead           bool             `json:"isRead"`
	IsDraft          bool             `json:"isDraft"`
	Body             graphBody        `json:"body"`
	Sender           graphRecipient   `json:"sender"`
	From             graphRecipient   `json:"from"`
	ToRecipients     []graphRecipient `json:"toRecipients"`
	CcRecipients     []graphRecipient `json:"ccRecipients"`
	BccRecipients    []graphRecipient `json:"bccRecipients"`
}

type graphDateTimeTZ struct {
	DateTime string `json:"dateTime"` // "2026-04-15T12:00:00.0000000", no offset
	TimeZone string `json:"timeZone"`
}

type graphAttendee struct {
	Type         string       `json:"type"`
	EmailAddress graphAddress `json:"emailAddress"`
}

type graphEvent struct {
	ID          string          `json:"id"`
	Subject     string          `json:"subject"`
	BodyPreview string          `json:"bodyPreview"`
	Body        graphBody       `json:"body"`
	Start       graphDateTimeTZ `json:"start"`
	End         graphDateTimeTZ `json:"end"`
	IsAllDay    bool            `json:"isAllDay"`
	Location    struct {
		DisplayName string `json:"displayName"`
	} `json:"location"`
	Organizer graphRecipient  `json:"organizer"`
	Attendees []graphAttendee `json:"attendees"`
}

// graphTime is the format of Graph's DateTimeOffset values (UTC, "Z").
const graphTime = "2006-01-02T15:04:05Z"

func (a EmailAddress) graph() graphRecipient {
	return graphRecipient{EmailAddress: graphAddress(a)}
}

func recipients(as []EmailAddress) []graphRecipient {
	out := make([]graphRecipient, 0, len(as))
	for _, a := range as {
		out = append(out, a.graph())
	}
	return out
}

func (m Message) graph() graphMessage {
	body := graphBody{ContentType: "text", Content: m.Body}
	if m.BodyHTML {
		body.ContentType = "html"
	}
	return graphMessage{ID: m.ID, Subject: m.Subject, IsRead: m.IsRead,
		ReceivedDateTime: m.ReceivedDateTime.UTC().Format(graphTime),
		SentDateTime:     m.SentDateTime.UTC().Format(graphTime),
		BodyPreview:      preview(m.Body, m.BodyHTML), Body: body,
		Sender: m.From.graph(), From: m.From.graph(), ToRecipients: recipients(m.To),
		CcRecipients: []graphRecipient{}, BccRecipients: []graphRecipient{}}
}

func (e Event) graph() graphEvent {
	at := func(t time.Time) graphDateTimeTZ {
		return graphDateTimeTZ{DateTime: t.UTC().Format("2006-01-02T15:04:05.0000000"), TimeZone: "UTC"}
	}
	// "Currently, this operation returns event bodies in only HTML format."
	// (https://learn.microsoft.com/graph/api/user-list-events)
	g := graphEvent{ID: e.ID, Subject: e.Subject, BodyPreview: preview(e.Body, false),
		Body:  graphBody{ContentType: "html", Content: "<html><body>" + html.EscapeString(e.Body) + "</body></html>"},
		Start: at(e.Start), End: at(e.End), Organizer: e.Organizer.graph(), Attendees: []graphAttendee{}}
	g.Location.DisplayName = e.Location
	for _, a := range e.Attendees {
		g.Attendees = append(g.Attendees, graphAttendee{Type: "required", EmailAddress: graphAddress(a)})
	}
	return g
}

var tags = regexp.MustCompile(`<[^>]*>`)

// preview is bodyPreview: "The first 255 characters of the message body. It is
// in text format." Whitespace is collapsed (guessed; Outlook's previews read so).
func preview(body string, isHTML bool) string {
	if isHTML {
		body = html.UnescapeString(tags.ReplaceAllString(body, " "))
	}
	r := []rune(strings.Join(strings.Fields(body), " "))
	if len(r) > 255 {
		r = r[:255]
	}
	return string(r)
}
