package webhook

import "net/http"

// gitea (and Forgejo): X-Gitea-Signature = hex HMAC-SHA256(body), no
// prefix; X-Gitea-Event: push. The payload has GitHub's shape.
var gitea = provider{
	verify: func(r *http.Request, secret, body []byte) error {
		return checkHMAC(secret, body, r.Header.Get("X-Gitea-Signature"), false)
	},
	event: func(r *http.Request) (eventKind, string) {
		e := r.Header.Get("X-Gitea-Event")
		if e == "push" {
			return eventPush, e
		}
		return eventIgnore, e
	},
	parse:    parseGitHubLike,
	delivery: "X-Gitea-Delivery",
}
