package main

import (
	"crypto/rand"
	"net/http"
	"sync"
	"time"
)

// flashes keeps one-time notices ("Sent ... to ...") for the page a browser
// is redirected to after a form post. The notice stays on the server; the
// browser holds only a random id in a short-lived cookie, so a crafted link
// cannot put words on the page, and a notice shows once.
type flashes struct {
	secure bool // cookies only over https (the app's public URL)
	mu     sync.Mutex
	m      map[string]flash
}

type flash struct {
	sent    sentView
	expires time.Time
}

const (
	flashCookie = "example_flash"
	flashTTL    = time.Minute
	maxFlashes  = 10000 // beyond this, expired notices are dropped, then new ones are not kept
)

// put keeps v for the next page of this browser under path.
func (f *flashes) put(w http.ResponseWriter, path string, v sentView) {
	id := rand.Text()
	now := time.Now()
	f.mu.Lock()
	if f.m == nil {
		f.m = make(map[string]flash)
	}
	if len(f.m) >= maxFlashes {
		for k, e := range f.m {
			if now.After(e.expires) {
				delete(f.m, k)
			}
		}
	}
	full := len(f.m) >= maxFlashes
	if !full {
		f.m[id] = flash{sent: v, expires: now.Add(flashTTL)}
	}
	f.mu.Unlock()
	if !full {
		http.SetCookie(w, f.cookie(path, id, int(flashTTL.Seconds())))
	}
}

// take returns the browser's notice, if any, and forgets it.
func (f *flashes) take(w http.ResponseWriter, r *http.Request) *sentView {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	http.SetCookie(w, f.cookie(r.URL.Path, "", -1))
	f.mu.Lock()
	e, ok := f.m[c.Value]
	delete(f.m, c.Value)
	f.mu.Unlock()
	if !ok || time.Now().After(e.expires) {
		return nil
	}
	return &e.sent
}

func (f *flashes) cookie(path, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: flashCookie, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: f.secure, SameSite: http.SameSiteLaxMode}
}
