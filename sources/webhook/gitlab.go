package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// gitlab: X-Gitlab-Token is the secret itself; X-Gitlab-Event: Push Hook,
// Tag Push Hook.
var gitlab = provider{
	tokenAuth: true,
	verify: func(r *http.Request, secret, _ []byte) error {
		return checkToken(secret, r.Header.Get("X-Gitlab-Token"))
	},
	event: func(r *http.Request) (eventKind, string) {
		e := r.Header.Get("X-Gitlab-Event")
		switch e {
		case "Push Hook", "Tag Push Hook":
			return eventPush, e
		}
		return eventIgnore, e
	},
	parse:    parseGitLab,
	delivery: "X-Gitlab-Event-UUID",
}

type gitlabPush struct {
	ObjectKind  string `json:"object_kind"`
	Ref         string `json:"ref"`
	Before      string `json:"before"`
	After       string `json:"after"`
	CheckoutSHA string `json:"checkout_sha"`
	Project     struct {
		PathWithNamespace string `json:"path_with_namespace"`
		GitHTTPURL        string `json:"git_http_url"`
		GitSSHURL         string `json:"git_ssh_url"`
	} `json:"project"`
	Repository struct {
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
	} `json:"repository"`
}

func parseGitLab(body []byte) (Push, error) {
	var p gitlabPush
	if err := json.Unmarshal(body, &p); err != nil {
		return Push{}, fmt.Errorf("decode push payload: %w", err)
	}
	switch p.ObjectKind {
	case "push", "tag_push":
	default:
		return Push{}, fmt.Errorf("push payload: object_kind %q is not push or tag_push", p.ObjectKind)
	}
	if p.Ref == "" {
		return Push{}, fmt.Errorf("push payload: field ref is missing")
	}
	repo := firstNonEmpty(p.Project.GitHTTPURL, p.Repository.GitHTTPURL, p.Project.GitSSHURL, p.Repository.GitSSHURL)
	return Push{Repo: repo, Ref: p.Ref, Before: p.Before, After: p.After, Deleted: zeroSHA(p.After)}, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
