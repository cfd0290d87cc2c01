package protocol

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// Claims decodes the payload of the compact JWT raw into v. The signature is
// not checked: use it only on tokens that came straight from the token
// endpoint over TLS.
func Claims(raw string, v any) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return fmt.Errorf("token is not a compact JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return fmt.Errorf("decode token payload: %w", err)
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return fmt.Errorf("decode token claims: %w", err)
	}
	return nil
}

// AdminRoles are the directory role template ids whose holders can grant
// tenant-wide (admin) consent: Global Administrator, Privileged Role
// Administrator, Cloud Application Administrator, Application Administrator.
var AdminRoles = map[string]bool{
	"62e90394-69f5-4237-9190-012177145e10": true,
	"e8611ab8-c189-46e8-94e1-60213ab1f814": true,
	"158c047a-c907-4556-b7ef-446551a6b5f7": true,
	"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": true,
}

// IsAdmin reports whether the ID token's wids claim names an admin role.
// Entra sends wids only when the app registration asks for it
// (groupMembershipClaims "DirectoryRole" or "All", or the wids optional claim).
func IsAdmin(rawIDToken string) bool {
	var c struct {
		Wids []string `json:"wids"`
	}
	if Claims(rawIDToken, &c) != nil {
		return false
	}
	for _, w := range c.Wids {
		if AdminRoles[strings.ToLower(w)] {
			return true
		}
	}
	return false
}

// Roles returns the roles claim of an app-only access token the app got
// itself (client credentials), v1.0 or v2.0; the signature is not checked.
func Roles(rawAccessToken string) ([]string, error) {
	var c struct {
		Roles []string `json:"roles"`
	}
	err := Claims(rawAccessToken, &c)
	return c.Roles, err
}

// IsGUID reports whether s looks like a GUID (a tenant id rather than a
// domain or "organizations").
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'):
			return false
		}
	}
	return true
}
