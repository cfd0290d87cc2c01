package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// graph calls Microsoft Graph (or the emulator's Graph-like API) with the user's
// token. Each call takes the client of its request: the middleware's Client(r),
// which sets Authorization: Bearer with the route's token and turns a claims
// challenge into an error the page hands back to the middleware.
type graph struct {
	base string // https://graph.microsoft.com/v1.0, no trailing slash
}

// graphError is Graph's error answer: {"error":{"code":"...","message":"..."}}.
type graphError struct {
	Status  int
	Code    string
	Message string
}

func (e *graphError) Error() string {
	return fmt.Sprintf("example: Graph answered %d %s: %s", e.Status, e.Code, e.Message)
}

type graphUser struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	UserPrincipalName string `json:"userPrincipalName"`
	Mail              string `json:"mail"`
	JobTitle          string `json:"jobTitle"`
}

type emailAddress struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

type recipient struct {
	EmailAddress emailAddress `json:"emailAddress"`
}

type itemBody struct {
	ContentType string `json:"contentType,omitempty"`
	Content     string `json:"content"`
}

// message is a Graph message as this app sends it.
type message struct {
	Subject      string      `json:"subject"`
	Body         *itemBody   `json:"body,omitempty"`
	ToRecipients []recipient `json:"toRecipients"`
}

// receivedMessage is a message in /me/messages, in Graph's message resource shape
// (https://learn.microsoft.com/graph/api/resources/message).
type receivedMessage struct {
	ID               string      `json:"id"`
	Subject          string      `json:"subject"`
	BodyPreview      string      `json:"bodyPreview"`
	From             recipient   `json:"from"`
	ToRecipients     []recipient `json:"toRecipients"`
	ReceivedDateTime time.Time   `json:"receivedDateTime"`
	IsRead           bool        `json:"isRead"`
}

// Recipients names the people the message was sent to.
func (m receivedMessage) Recipients() []string {
	var out []string
	for _, r := range m.ToRecipients {
		out = append(out, r.EmailAddress.display())
	}
	return out
}

// display is the name, or the address when there is none.
func (a emailAddress) display() string {
	if a.Name != "" {
		return a.Name
	}
	return a.Address
}

// me is GET /me (User.Read).
func (g *graph) me(ctx context.Context, c *http.Client) (*graphUser, error) {
	var u graphUser
	return &u, g.do(ctx, c, http.MethodGet, "/me", nil, &u)
}

// messages is GET /me/messages (Mail.Read).
func (g *graph) messages(ctx context.Context, c *http.Client) ([]receivedMessage, error) {
	var page struct {
		Value []receivedMessage `json:"value"`
	}
	err := g.do(ctx, c, http.MethodGet, "/me/messages?$top=25&$orderby=receivedDateTime%20desc&$select=subject,bodyPreview,from,toRecipients,receivedDateTime,isRead", nil, &page)
	return page.Value, err
}

// sendMail is POST /me/sendMail (Mail.Send).
func (g *graph) sendMail(ctx context.Context, c *http.Client, m message) error {
	body := map[string]any{"message": m, "saveToSentItems": true}
	return g.do(ctx, c, http.MethodPost, "/me/sendMail", body, nil)
}

// users is GET /users (User.Read.All).
func (g *graph) users(ctx context.Context, c *http.Client) ([]graphUser, error) {
	var page struct {
		Value []graphUser `json:"value"`
	}
	err := g.do(ctx, c, http.MethodGet, "/users?$top=50&$select=id,displayName,userPrincipalName,mail,jobTitle", nil, &page)
	return page.Value, err
}

// do sends one request through c and decodes the JSON answer into out.
func (g *graph) do(ctx context.Context, c *http.Client, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("example: encoding Graph request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, g.base+path, body)
	if err != nil {
		return fmt.Errorf("example: Graph request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("example: calling Graph: %w", err)
	}
	defer resp.Body.Close()
	return decodeGraph(resp, out)
}

func decodeGraph(resp *http.Response, out any) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("example: reading Graph answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		if e.Error.Code == "" {
			e.Error.Message = strings.TrimSpace(string(b))
		}
		return &graphError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("example: decoding Graph answer: %w", err)
	}
	return nil
}
