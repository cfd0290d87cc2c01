package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"golang.org/x/oauth2"

	"github.com/consentry/consentry/middleware"
	"github.com/consentry/consentry/middleware/entratest"
)

// TestTokenSource: a handler calling Graph through oauth2.NewClient with
// TokenSource gets consent for the source's scopes through Challenge (the
// error comes wrapped by http.Client), then Graph's answer.
func TestTokenSource(t *testing.T) {
	e := newEnv(t)
	e.idp.AddEvent(e.user.ObjectID, entratest.Event{Subject: "Standup"})
	mux := http.NewServeMux()
	mux.Handle("/", e.routes(e.mw))
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), oauth2.HTTPClient, e.idp.Client())
		resp, err := oauth2.NewClient(ctx, e.mw.TokenSource(r, "Calendars.Read")).Get(e.idp.GraphURL() + "/me/events")
		if e.mw.Challenge(w, r, err) {
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		fmt.Fprintf(w, "graph %d", resp.StatusCode)
	})
	e.setHandler(mux)
	p := e.get(t, e.browser(e.user, entratest.Accept), "/events")
	c := steps(p, "consent")
	if p.StatusCode != http.StatusOK || p.Body != "graph 200" || len(c) != 1 || !slices.Equal(c[0].Scopes, []string{"Calendars.Read"}) {
		t.Fatalf("%d %q, consent %v%s", p.StatusCode, p.Body, c, trail(p))
	}
}

// TestAccountTokenSource: a job's TokenSource gives the account's token.
func TestAccountTokenSource(t *testing.T) {
	e := newEnv(t)
	id := signedInAccount(t, e)
	tok, err := e.mw.AccountTokenSource(context.Background(), id, "User.Read").Token()
	if err != nil || tok.TokenType != "Bearer" || !tok.Valid() {
		t.Fatalf("%v %+v", err, tok)
	}
	if s := graphMe(t, e, middleware.Token{AccessToken: tok.AccessToken}); s != http.StatusOK {
		t.Errorf("Graph /me answered %d", s)
	}
}
