package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"
)

// Why a request was refused. Neither error carries the secret or the value
// the request sent.
var (
	ErrMissingSignature = errors.New("missing signature")
	ErrBadSignature     = errors.New("signature does not match")
)

// checkHMAC verifies that sig, hex with an optional "sha256=" prefix, is
// the HMAC-SHA256 of body under secret.
func checkHMAC(secret, body []byte, sig string, prefixed bool) error {
	if sig == "" {
		return ErrMissingSignature
	}
	if prefixed {
		s, ok := strings.CutPrefix(sig, "sha256=")
		if !ok {
			return ErrBadSignature
		}
		sig = s
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return ErrBadSignature
	}
	if !hmac.Equal(got, Sign(secret, body)) {
		return ErrBadSignature
	}
	return nil
}

// checkToken compares a token the request sent with the secret in constant
// time; hashing both first hides the secret's length too.
func checkToken(secret []byte, token string) error {
	if token == "" {
		return ErrMissingSignature
	}
	a, b := sha256.Sum256(secret), sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return ErrBadSignature
	}
	return nil
}

// Sign returns the HMAC-SHA256 of body under secret, as hosts compute it.
func Sign(secret, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return m.Sum(nil)
}

// SignatureHeader returns the value of X-Hub-Signature-256 (and
// X-Steward-Signature) for body: "sha256=" and the hex HMAC.
func SignatureHeader(secret, body []byte) string {
	return "sha256=" + hex.EncodeToString(Sign(secret, body))
}
