package fuzz

import (
	"crypto/hmac"
	"crypto/sha256"

	"billing/shared/auth/authtest"
)

// hs256 is the HS256 signature of a JWS signing input with the test secret.
func hs256(signingInput string) []byte {
	m := hmac.New(sha256.New, []byte(authtest.Secret))
	m.Write([]byte(signingInput))
	return m.Sum(nil)
}
