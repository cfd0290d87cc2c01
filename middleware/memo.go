package middleware

// The session memo (default cookie store only) maps an exact session cookie
// value to the account it decodes to, so that a signed-in user's requests
// skip securecookie's HMAC check, decryption and decoding, and the read of
// the sign-out record (revoke.go). Anyone can send any cookie, so the memo
// keeps only what the app itself issued to a signed-in user: a value that
// fails to decode (forged, tampered, expired, or simply too long) and a
// valid session without an account are decoded again on each request and
// never stored. Anonymous requests thus add nothing to it, whatever they
// send; and it is bounded by the bytes of its keys (memoBytesPerEntry), not
// only by entries, as is the fast path keyed by the same cookies.

// memoBytesPerEntry is what the session memo, and again the fast path, may
// hold in cookie values per entry of Config.TokenCacheSize: 1 KiB (a
// signed-in session cookie is about 500 bytes; 10 MiB by default).
const memoBytesPerEntry = 1 << 10

// memoizable reports whether the session read from a cookie (err: why it
// was ignored) may be memoized by the cookie's value.
func memoizable(sess *session, err error) bool {
	return err == nil && sess.account.HomeAccountID != ""
}
