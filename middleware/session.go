package middleware

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"github.com/consentry/consentry/middleware/internal/flowstore"
	"github.com/consentry/consentry/middleware/internal/protocol"
)

// Session value keys. The session holds identities and ids only, never tokens.
const (
	keyAccount  = "acct"
	keyUsername = "user"
	keyTenant   = "tid"
	keyName     = "name"
	keySID      = "sid"  // random session binding id that pending flows are bound to
	keyPending  = "pend" // space-separated ids (state hashes) of pending flows
	keyAdmin    = "adm"  // "1" when the ID token's wids named an admin role
	keyOID      = "oid"
	keyEmail    = "email"
	keyRoles    = "roles" // space-separated
	keyWIDs     = "wids"  // space-separated
)

// maxPending bounds the pending flows one browser session may hold.
const maxPending = 4

// memoTTL is how long a decoded cookie session is reused without decoding again.
const memoTTL = time.Minute

// memoEntry is the account of one exact cookie value, decoded earlier.
type memoEntry struct {
	acct  Account
	until time.Time
}

type session struct {
	raw     *sessions.Session
	account Account
	sid     string
	pending []string
	admin   bool
	renew   bool // a new account signed in: save under a new store id (renewID)
}

// newCookieStore is the default cookie store, writing values with sessionCodec.
func newCookieStore(s *settings) *sessions.CookieStore {
	cs := sessions.NewCookieStore(s.SessionKeys...)
	cs.Options = &sessions.Options{
		Path:     s.BasePath,
		MaxAge:   int(s.SessionMaxAge.Seconds()),
		HttpOnly: true,
		Secure:   !(s.localhost && s.redirect.Scheme == "http"),
		SameSite: http.SameSiteLaxMode,
	}
	cs.MaxAge(cs.Options.MaxAge) // also bounds the signed timestamp
	for _, c := range cs.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.SetSerializer(sessionCodec{})
		}
	}
	return cs
}

// loadSession returns r's session. A missing, expired or tampered cookie is an
// empty session: the user is simply not signed in.
func (m *Middleware) loadSession(r *http.Request) *session {
	s, _ := m.readSession(r)
	return s
}

// readSession is loadSession that also returns why a cookie was ignored.
func (m *Middleware) readSession(r *http.Request) (*session, error) {
	raw, err := m.sessions.Get(r, m.cfg.SessionName)
	if err != nil {
		m.log.DebugContext(r.Context(), "middleware: session cookie ignored", "err", err)
	}
	if raw == nil {
		raw = sessions.NewSession(m.sessions, m.cfg.SessionName)
	}
	str := func(k string) string { v, _ := raw.Values[k].(string); return v }
	s := &session{
		raw: raw,
		account: Account{
			HomeAccountID: str(keyAccount), Username: str(keyUsername),
			TenantID: str(keyTenant), Name: str(keyName), ObjectID: str(keyOID), Email: str(keyEmail),
			Roles: strings.Fields(str(keyRoles)), WIDs: strings.Fields(str(keyWIDs)),
		},
		sid:     str(keySID),
		pending: strings.Fields(str(keyPending)),
		admin:   str(keyAdmin) == "1",
	}
	if rerr := m.dropIfRevoked(r.Context(), s); err == nil {
		err = rerr
	}
	return s, err
}

// Account returns the account signed in on r's session, on any route: use it
// on pages not wrapped by Require (a home page showing "Sign in" or the user's
// name). It makes no call to Entra and does not check tokens.
func (m *Middleware) Account(r *http.Request) (Account, bool) {
	acct := m.sessionAccount(r)
	return acct, acct.HomeAccountID != ""
}

// IsAdmin reports whether the user signed in on r can grant tenant-wide
// consent, as RequireAdmin judges it (Config.IsAdmin, by default the ID
// token's wids claim): use it to keep administrators' pages to them. False
// when nobody is signed in or nothing says the user is an administrator.
func (m *Middleware) IsAdmin(r *http.Request) bool {
	sess := m.loadSession(r)
	return sess.account.HomeAccountID != "" && m.isAdmin(r, sess)
}

// sessionAccount returns who is signed in on r, cheaply: with the default cookie store
// the cookie's value determines the session entirely, so the decoded account
// of an exact cookie value is memoized for memoTTL (securecookie's HMAC check,
// decryption and decoding, and a round trip to read sign-out records).
func (m *Middleware) sessionAccount(r *http.Request) Account {
	acct, _, _ := m.sessionAccountFrom(r)
	return acct
}

// sessionAccountFrom is sessionAccount that also returns, with the default
// cookie store, until when the answer holds and the cookie value it was
// decoded from ("" otherwise).
func (m *Middleware) sessionAccountFrom(r *http.Request) (acct Account, until time.Time, cookie string) {
	if m.memo == nil {
		return m.loadSession(r).account, time.Time{}, ""
	}
	c, err := r.Cookie(m.cfg.SessionName)
	if err != nil {
		return Account{}, time.Time{}, ""
	}
	now := m.cfg.Now()
	if e, ok := m.memo.Get(c.Value, 0, now.UnixNano()); ok {
		return e.acct, e.until, c.Value
	}
	sess, err := m.readSession(r)
	acct, until = sess.account, now.Add(memoLife())
	if !memoizable(sess, err) {
		return acct, until, ""
	}
	m.memoize(c.Value, acct, until)
	return acct, until, c.Value
}

// memoize remembers that the cookie value raw decodes to acct until until.
func (m *Middleware) memoize(raw string, acct Account, until time.Time) {
	m.memo.Put(raw, 0, 0, memoEntry{acct: acct.packed(), until: until}, until.UnixNano())
}

// bindingID returns the session binding id, creating one if needed.
func (s *session) bindingID() string {
	if s.sid == "" {
		s.sid = protocol.Random(16)
	}
	return s.sid
}

// addPending remembers a pending flow (an entry of pendingEntry) and returns
// the older entries it pushed out of the list (at most maxPending stay).
func (s *session) addPending(entry string) (dropped []string) {
	s.pending = append(s.pending, entry)
	if n := len(s.pending); n > maxPending {
		dropped = slices.Clone(s.pending[:n-maxPending])
		s.pending = s.pending[n-maxPending:]
	}
	return dropped
}

func (s *session) hasPending(id string) bool {
	return slices.ContainsFunc(s.pending, func(p string) bool { return pendingFlow(p) == id })
}

func (s *session) removePending(id string) {
	s.pending = slices.DeleteFunc(s.pending, func(p string) bool { return pendingFlow(p) == id })
}

// pendingEntry is f's entry in the session's pending list: the flow id,
// followed by "." and the id of its kept request if it has one, so that a
// flow pushed out of the list takes its kept request with it.
func pendingEntry(f *flowstore.Flow) string {
	if f.Resume == "" {
		return flowstore.ID(f.State)
	}
	return flowstore.ID(f.State) + "." + f.Resume
}

// pendingFlow is the flow id of a pending entry.
func pendingFlow(entry string) string { id, _, _ := strings.Cut(entry, "."); return id }

// signIn records acct. A different account gets a new binding id and, with a
// server-side session store, a new session id (no session fixation); the same
// account keeps them, so consent flows running in other tabs stay valid.
func (s *session) signIn(acct Account) {
	if acct.HomeAccountID != s.account.HomeAccountID {
		s.renew = true
		s.sid = protocol.Random(16)
		s.pending = nil
		s.admin = false
	}
	s.account = acct
}

func (s *session) save(w http.ResponseWriter, r *http.Request) error {
	v := s.raw.Values
	set := func(k, val string) {
		if val == "" {
			delete(v, k)
		} else {
			v[k] = val
		}
	}
	set(keyAccount, s.account.HomeAccountID)
	set(keyUsername, s.account.Username)
	set(keyTenant, s.account.TenantID)
	set(keyName, s.account.Name)
	set(keyOID, s.account.ObjectID)
	set(keyEmail, s.account.Email)
	set(keyRoles, strings.Join(s.account.Roles, " "))
	set(keyWIDs, strings.Join(s.account.WIDs, " "))
	set(keySID, s.sid)
	set(keyPending, strings.Join(s.pending, " "))
	set(keyAdmin, map[bool]string{true: "1"}[s.admin])
	if s.renew {
		s.renewID(r)
	}
	return s.raw.Save(r, w)
}

// renewID gives a server-side session (Config.Sessions such as gorilla's
// FilesystemStore or a Redis store, whose cookie holds only an id) a new id
// when a user signs in, and erases the old one from the store, so an id
// planted in the browser before sign-in (session fixation) is worth nothing
// afterwards. The default cookie store has no id: its cookie changes anyway.
func (s *session) renewID(r *http.Request) {
	s.renew = false
	if s.raw.ID == "" {
		return
	}
	old := *s.raw
	opts := sessions.Options{Path: "/"}
	if s.raw.Options != nil {
		opts = *s.raw.Options
	}
	opts.MaxAge = -1
	old.Options, old.Values = &opts, map[any]any{}
	// Save with MaxAge -1 erases the stored session; its expiring cookie goes
	// nowhere (the new session's cookie replaces the old one). A store that
	// cannot erase keeps only the pre-sign-in values under the old id.
	_ = old.Store().Save(r, discardWriter{}, &old)
	s.raw.ID, s.raw.IsNew = "", true
}

// discardWriter is a ResponseWriter that drops everything.
type discardWriter struct{}

func (discardWriter) Header() http.Header { return http.Header{} }

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

func (discardWriter) WriteHeader(int) {}

// destroy empties the session and expires its cookie.
func (s *session) destroy(w http.ResponseWriter, r *http.Request) error {
	s.account, s.sid, s.pending, s.admin = Account{}, "", nil, false
	clear(s.raw.Values)
	opts := sessions.Options{MaxAge: -1, Path: "/"}
	if s.raw.Options != nil {
		opts = *s.raw.Options
		opts.MaxAge = -1
	}
	s.raw.Options = &opts
	return s.raw.Save(r, w)
}
