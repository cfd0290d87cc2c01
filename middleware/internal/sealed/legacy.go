package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"strings"
)

// Legacy is the format the middleware sealed its records in before it used
// package seal. A Box still opens records in it, and never writes them, so
// that records an earlier version stored (tenant records above all) survive
// an upgrade; a record read in it is written back in package seal's format
// the next time it is Put. A record in it is
//
//	nonce (12 bytes) | AES-256-GCM ciphertext and tag
//
// under the key HMAC-SHA256(secret, Info) of each secret, with the record's
// store key as additional data (with TrimPrefix, the store key without the
// Box's prefix). The plaintext is the envelope {"e": expiry, "v": record}
// (with Bare, the record itself, which then has no expiry of its own).
type Legacy struct {
	Info       string
	TrimPrefix bool
	Bare       bool
}

// legacyBox opens the records of one Box sealed in a Legacy format.
type legacyBox struct {
	Legacy
	aeads []cipher.AEAD // one per secret, in order
}

func newLegacy(l Legacy, secrets [][]byte) (*legacyBox, error) {
	lb := &legacyBox{Legacy: l}
	for _, sec := range secrets {
		mac := hmac.New(sha256.New, sec)
		mac.Write([]byte(l.Info))
		block, err := aes.NewCipher(mac.Sum(nil))
		if err != nil {
			return nil, err
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		lb.aeads = append(lb.aeads, gcm)
	}
	return lb, nil
}

// open opens data, stored under key by a Box with prefix, with the first
// secret's key that opens it.
func (lb *legacyBox) open(prefix, key string, data []byte) (envelope, bool) {
	ad := key
	if lb.TrimPrefix {
		ad = strings.TrimPrefix(key, prefix)
	}
	for _, a := range lb.aeads {
		n := a.NonceSize()
		if len(data) < n {
			break
		}
		plain, err := a.Open(nil, data[:n], data[n:], []byte(ad))
		if err != nil {
			continue
		}
		if lb.Bare {
			return envelope{V: plain}, json.Valid(plain)
		}
		var env envelope
		return env, json.Unmarshal(plain, &env) == nil
	}
	return envelope{}, false
}
