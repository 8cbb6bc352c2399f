package reconcile

import (
	"regexp"
	"strings"
)

// The one redaction rule for text that may hold a URL (an error, a log
// value, a repository or notification address): the user information of
// every URL (user name, password or token, for every scheme) is dropped, and
// the values of query parameters that carry secrets (token, key, secret,
// password, signature, auth, credential, in any spelling such as
// access_token or X-Amz-Signature) are replaced by "***". The scp-like
// git@host:path form holds no secret and is kept.

var (
	// userinfoRE matches scheme://user:secret@ and scheme://token@.
	userinfoRE = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@`)
	// querySecretRE matches a secret-carrying query parameter and its value.
	querySecretRE = regexp.MustCompile(`(?i)([?&;][a-z0-9_.-]*(?:token|key|secret|passw|pwd|signature|sig|auth|credential)[a-z0-9_.-]*=)[^&#\s"'<>]*`)
)

// Redact applies the redaction rule to s: a URL or free text holding URLs.
func Redact(s string) string {
	if !strings.Contains(s, "@") && !strings.Contains(s, "=") {
		return s
	}
	s = userinfoRE.ReplaceAllString(s, "${1}")
	return querySecretRE.ReplaceAllString(s, "${1}***")
}

// Short revision widths: the CLI, logs and errors name commits by 12 hex
// digits; the status page and notifications by 7, as forges show them.
const (
	RevisionWidth        = 12
	CompactRevisionWidth = 7
)

// ShortRevision abbreviates the commit SHA in rev to width hex digits. rev
// may be a SHA or carry a prefix up to its last '@' or ':' ("main@SHA",
// "v1.2.0@sha1:SHA"), which is kept; anything that is not a SHA of at least
// 12 hex digits (a tag, a short name, "") is returned as it is.
func ShortRevision(rev string, width int) string {
	i := strings.LastIndexAny(rev, "@:")
	prefix, sha := rev[:i+1], rev[i+1:]
	if len(sha) >= 12 && len(sha) > width && isHex(sha) {
		return prefix + sha[:width]
	}
	return rev
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
