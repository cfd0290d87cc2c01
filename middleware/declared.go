package middleware

import (
	"fmt"
	"strings"
	"sync"

	"github.com/consentry/consentry/middleware/internal/scope"
)

// declaredScopes are the scopes the app asks for: those its routes declared
// (Require, RequireAdmin) and Config.ConnectScopes. The sign-in and
// admin-consent endpoints take their scopes from a query anyone can write,
// so they ask Entra only for these: a link on the app's own domain cannot
// make a user, or an administrator for the whole organization, grant a
// permission the app never uses.
type declaredScopes struct {
	mu  sync.RWMutex
	set map[string]bool // by scope.Canonical
}

// add declares scopes.
func (d *declaredScopes) add(scopes []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.set == nil {
		d.set = map[string]bool{}
	}
	for _, s := range scopes {
		d.set[scope.Canonical(s)] = true
	}
}

// check returns an error naming the scopes that were not declared.
func (d *declaredScopes) check(scopes []string) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	var bad []string
	for _, s := range scopes {
		if !d.set[scope.Canonical(s)] {
			bad = append(bad, s)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%s: no route of this app declares it (Require, RequireAdmin), so it cannot be requested",
		strings.Join(bad, " "))
}
