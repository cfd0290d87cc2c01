package entraerr

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
)

// Error is one Entra ID error answer.
type Error struct {
	Status      int    // HTTP status of a token endpoint answer; 0 for a redirect
	Code        string // OAuth "error", e.g. "invalid_grant", "access_denied"
	Codes       []int  // "error_codes", e.g. [65001]
	Subcode     string // "suberror", e.g. "consent_required"
	Description string // "error_description"
	Claims      string // "claims" of a claims challenge, if any
}

// AADSTS returns the first AADSTS number of e (from error_codes, else parsed
// from the description), or 0.
func (e *Error) AADSTS() int {
	if len(e.Codes) > 0 {
		return e.Codes[0]
	}
	if m := aadsts.FindStringSubmatch(e.Description); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

var aadsts = regexp.MustCompile(`AADSTS(\d+)`)

// HasCode reports whether e carries the AADSTS number n.
func (e *Error) HasCode(n int) bool {
	for _, c := range e.Codes {
		if c == n {
			return true
		}
	}
	return e.AADSTS() == n
}

// Summary returns the first line of the description (without trace ids).
func (e *Error) Summary() string {
	d, _, _ := strings.Cut(e.Description, "\n")
	return strings.TrimSpace(d)
}

// maxBody bounds how much of an error body is read.
const maxBody = 64 << 10

// FromCallErr extracts the Entra error from an MSAL errors.CallErr in err's chain.
// It reads the response body, so call it once per error value (the body is a
// one-shot buffer and is not safe to read from two goroutines).
func FromCallErr(err error) (*Error, bool) {
	var ce msalerrors.CallErr
	if !errors.As(err, &ce) || ce.Resp == nil {
		return nil, false
	}
	e := &Error{Status: ce.Resp.StatusCode}
	if ce.Resp.Body == nil {
		return e, true
	}
	body, _ := io.ReadAll(io.LimitReader(ce.Resp.Body, maxBody))
	ce.Resp.Body = io.NopCloser(bytes.NewReader(body))
	var raw struct {
		Error       string `json:"error"`
		Codes       []int  `json:"error_codes"`
		Suberror    string `json:"suberror"`
		Description string `json:"error_description"`
		Claims      string `json:"claims"`
	}
	if json.Unmarshal(body, &raw) == nil {
		e.Code, e.Codes, e.Subcode = raw.Error, raw.Codes, raw.Suberror
		e.Description, e.Claims = raw.Description, raw.Claims
	}
	return e, true
}

// FromQuery returns the error carried by a redirect to the app (error,
// error_description, error_subcode/suberror, claims), or nil when q has none.
func FromQuery(q url.Values) *Error {
	code := q.Get("error")
	if code == "" {
		return nil
	}
	e := &Error{Code: code, Description: q.Get("error_description"), Claims: q.Get("claims")}
	e.Subcode = q.Get("suberror")
	if e.Subcode == "" {
		e.Subcode = q.Get("error_subcode")
	}
	for _, s := range strings.Split(q.Get("error_codes"), ",") {
		if n, err := strconv.Atoi(strings.Trim(s, "[] ")); err == nil {
			e.Codes = append(e.Codes, n)
		}
	}
	return e
}
