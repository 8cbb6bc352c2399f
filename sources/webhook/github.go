package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// github: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(body);
// X-GitHub-Event: push, ping.
var github = provider{
	verify: func(r *http.Request, secret, body []byte) error {
		return checkHMAC(secret, body, r.Header.Get("X-Hub-Signature-256"), true)
	},
	event: func(r *http.Request) (eventKind, string) {
		e := r.Header.Get("X-GitHub-Event")
		switch e {
		case "push":
			return eventPush, e
		case "ping":
			return eventPing, e
		}
		return eventIgnore, e
	},
	parse:    parseGitHubLike,
	delivery: "X-GitHub-Delivery",
}

// githubPush is the part of GitHub's (and Gitea's) push payload steward
// reads.
type githubPush struct {
	Ref        string `json:"ref"`
	Before     string `json:"before"`
	After      string `json:"after"`
	Deleted    bool   `json:"deleted"`
	Repository struct {
		FullName string `json:"full_name"`
		CloneURL string `json:"clone_url"`
		SSHURL   string `json:"ssh_url"`
		HTMLURL  string `json:"html_url"`
	} `json:"repository"`
}

func parseGitHubLike(body []byte) (Push, error) {
	var p githubPush
	if err := json.Unmarshal(body, &p); err != nil {
		return Push{}, fmt.Errorf("decode push payload: %w", err)
	}
	if p.Ref == "" {
		return Push{}, fmt.Errorf("push payload: field ref is missing")
	}
	repo := p.Repository.CloneURL
	if repo == "" {
		repo = p.Repository.SSHURL
	}
	return Push{
		Repo: repo, Ref: p.Ref, Before: p.Before, After: p.After,
		Deleted: p.Deleted || zeroSHA(p.After),
	}, nil
}
