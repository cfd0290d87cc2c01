package middleware

import (
	"net/http"

	"github.com/gorilla/sessions"
)

// AppSession keeps the middleware's session values (who is signed in, ids
// of pending sign-ins, never tokens) in a session the app already has, such
// as an alexedwards/scs SessionManager or a cookie of its own, instead of a
// cookie of the middleware's own. Set it as Config.AppSession.
//
// For scs (whose LoadAndSave must wrap the routes and AuthHandler):
//
//	type scsSession struct{ *scs.SessionManager }
//
//	func (s scsSession) Load(r *http.Request) (map[string]string, error) {
//		v, _ := s.Get(r.Context(), "consentry").(map[string]string)
//		return v, nil
//	}
//
//	func (s scsSession) Save(w http.ResponseWriter, r *http.Request, v map[string]string, renew bool) error {
//		if renew {
//			if err := s.RenewToken(r.Context()); err != nil {
//				return err
//			}
//		}
//		s.Put(r.Context(), "consentry", v) // gob.Register(map[string]string{}) once
//		return nil
//	}
type AppSession interface {
	// Load returns the values Save last stored in r's session; a session
	// without them is (nil, nil). An error is for a failure of the store
	// only: the middleware then treats the user as not signed in.
	Load(r *http.Request) (map[string]string, error)
	// Save replaces the middleware's values in r's session; an empty map
	// removes them. With renew true (a user signs in or out) the app must
	// also give the session a new id and drop the old one, so that an id
	// planted in the browser beforehand is worth nothing (session fixation).
	Save(w http.ResponseWriter, r *http.Request, values map[string]string, renew bool) error
}

// appSessionID marks a session loaded from an AppSession; renewID clears it
// when a new account signs in, which Save passes on as renew.
const appSessionID = "app"

// appStore adapts an AppSession to the sessions.Store the middleware uses.
type appStore struct{ app AppSession }

func (s appStore) Get(r *http.Request, name string) (*sessions.Session, error) { return s.New(r, name) }

func (s appStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	sess.ID, sess.IsNew = appSessionID, false
	vals, err := s.app.Load(r)
	if err != nil {
		return sess, err // a store failure: nobody is signed in, whatever came with it
	}
	for k, v := range vals {
		sess.Values[k] = v
	}
	return sess, nil
}

func (s appStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if _, ok := w.(discardWriter); ok {
		return nil // renewID erasing the old id: Save below renews instead
	}
	vals := make(map[string]string, len(sess.Values))
	for k, v := range sess.Values {
		ks, _ := k.(string)
		vs, _ := v.(string)
		vals[ks] = vs
	}
	deleted := sess.Options != nil && sess.Options.MaxAge < 0
	if deleted {
		clear(vals)
	}
	return s.app.Save(w, r, vals, deleted || sess.ID != appSessionID)
}
