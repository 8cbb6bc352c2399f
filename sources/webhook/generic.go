package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// generic: for scripts and hosts without their own convention. Either
// "Authorization: Bearer SECRET" or X-Steward-Signature = "sha256=" + hex
// HMAC-SHA256(body). The body may be empty (just "poll now") or a JSON
// object {"repo": ..., "ref": ..., "after": ...}.
var generic = provider{
	verify: func(r *http.Request, secret, body []byte) error {
		if sig := r.Header.Get("X-Steward-Signature"); sig != "" {
			return checkHMAC(secret, body, sig, true)
		}
		auth := r.Header.Get("Authorization")
		if auth == "" {
			return ErrMissingSignature
		}
		scheme, token, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return ErrBadSignature
		}
		return checkToken(secret, strings.TrimSpace(token))
	},
	event: func(r *http.Request) (eventKind, string) { return eventPush, "push" },
	parse: parseGeneric,
}

type genericPush struct {
	Repo   string `json:"repo"`
	Ref    string `json:"ref"`
	Before string `json:"before"`
	After  string `json:"after"`
}

func parseGeneric(body []byte) (Push, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return Push{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var p genericPush
	if err := dec.Decode(&p); err != nil {
		return Push{}, fmt.Errorf("decode push payload: %w", err)
	}
	return Push{Repo: p.Repo, Ref: p.Ref, Before: p.Before, After: p.After, Deleted: zeroSHA(p.After)}, nil
}
