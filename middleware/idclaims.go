package middleware

import (
	"fmt"

	"github.com/consentry/consentry/middleware/internal/protocol"
)

// accountClaims are the ID token claims Account carries.
type accountClaims struct {
	OID    string   `json:"oid"`
	TID    string   `json:"tid"`
	Email  string   `json:"email"`
	Roles  []string `json:"roles"`
	Groups []string `json:"groups"`
	WIDs   []string `json:"wids"`
}

// withIDClaims returns acct with the claims of the ID token raw, which the
// callback verified first (signature, issuer, audience, nonce).
func withIDClaims(acct Account, raw string) (Account, error) {
	var c accountClaims
	var all map[string]any
	if err := protocol.Claims(raw, &c); err != nil {
		return acct, fmt.Errorf("%w: the ID token: %w", ErrSignInFailed, err)
	}
	if err := protocol.Claims(raw, &all); err != nil {
		return acct, fmt.Errorf("%w: the ID token: %w", ErrSignInFailed, err)
	}
	acct.ObjectID, acct.Email, acct.Roles, acct.Groups, acct.WIDs, acct.Claims = c.OID, c.Email, c.Roles, c.Groups, c.WIDs, all
	if acct.TenantID == "" {
		acct.TenantID = c.TID
	}
	return acct, nil
}

// forSession returns acct without what the session does not keep (Groups,
// Claims): what requests after the sign-in see.
func (a Account) forSession() Account {
	a.Groups, a.Claims = nil, nil
	return a
}
