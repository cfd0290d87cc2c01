// Package jose signs and verifies the RS256 JSON Web Tokens the emulator
// issues, and renders its JSON Web Key Set. It implements only what the
// emulator needs (RFC 7515 compact serialization, RFC 7517 RSA keys).
package jose
