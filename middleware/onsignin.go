package middleware

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// ErrSignInRefused: Config.OnSignIn refused the sign-in; see SignInRefusedError.
var ErrSignInRefused = errors.New("middleware: the app refused the sign-in")

// SignInRefusedError is what Config.OnSignIn returns to refuse a sign-in
// (an account the app has disabled, a tenant it does not serve yet, a user
// without a required role). The user is not signed in, the tokens of the
// sign-in are dropped, and Config.ErrorHandler gets the error with status
// 403; the default page shows Reason. errors.Is(err, ErrSignInRefused) holds.
type SignInRefusedError struct {
	// Reason is shown to the user: say what to do ("Ask your manager for
	// access to Contoso Expenses."). Never put secrets or internal details in it.
	Reason string
}

// Error returns the reason, prefixed with the package name.
func (e *SignInRefusedError) Error() string { return "middleware: sign-in refused: " + e.Reason }

// Unwrap returns ErrSignInRefused.
func (e *SignInRefusedError) Unwrap() error { return ErrSignInRefused }

// onSignIn runs Config.OnSignIn for acct. A *SignInRefusedError is returned
// as is; any other error means the app could not decide (its database is
// down): the sign-in fails with ErrUnavailable, and the user may retry.
func (m *Middleware) onSignIn(ctx context.Context, acct Account) error {
	if m.cfg.OnSignIn == nil {
		return nil
	}
	err := m.cfg.OnSignIn(ctx, acct)
	var refused *SignInRefusedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &refused):
		return err
	}
	return fmt.Errorf("%w: Config.OnSignIn: %w", ErrUnavailable, err)
}

// signOutRefused ends sess when it is the refused account's own (a user
// signed in earlier whom the app refuses at a consent round trip), as sign-out
// does: a refused user is not signed in, on this replica or another. A
// session of another account (a switch the app refused) is kept.
func (m *Middleware) signOutRefused(r *http.Request, sess *session, acct Account) {
	if sess.account.HomeAccountID == "" || sess.account.HomeAccountID != acct.HomeAccountID {
		return
	}
	if err := m.revokeSession(r.Context(), sess.sid); err != nil {
		m.log.ErrorContext(r.Context(), "middleware: sign out a refused user", "account", acct.HomeAccountID, "err", err)
	}
	if c, err := r.Cookie(m.cfg.SessionName); err == nil && m.memo != nil {
		m.memo.Remove(c.Value, 0)
	}
	sess.account, sess.sid, sess.pending, sess.admin = Account{}, "", nil, false
}
