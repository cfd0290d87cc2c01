package entratest_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
)

func rsaVerify(pub *rsa.PublicKey, input string, sig []byte) error {
	sum := sha256.Sum256([]byte(input))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig)
}
