package webhook

import "strings"

// Push is one push a git host told us about.
type Push struct {
	// Provider is the endpoint that received it: github, gitlab, gitea or
	// generic.
	Provider string `json:"provider"`
	// Repo is the repository's clone URL as the host names it (HTTP(S)
	// when the payload has one), "" when the payload does not say.
	Repo string `json:"repo,omitempty"`
	// Ref is the full ref pushed: refs/heads/main, refs/tags/v1.2.0.
	Ref string `json:"ref,omitempty"`
	// Before and After are the ref's commit before and after the push.
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	// Deleted is true when the push deleted the ref.
	Deleted bool `json:"deleted,omitempty"`
	// Delivery is the host's id of this delivery, for logs.
	Delivery string `json:"delivery,omitempty"`
}

// Branch returns the branch pushed, or "" when the ref is not a branch.
func (p Push) Branch() string {
	b, ok := strings.CutPrefix(p.Ref, "refs/heads/")
	if !ok {
		return ""
	}
	return b
}

// Tag returns the tag pushed, or "" when the ref is not a tag.
func (p Push) Tag() string {
	t, ok := strings.CutPrefix(p.Ref, "refs/tags/")
	if !ok {
		return ""
	}
	return t
}

// zeroSHA reports whether sha is git's all-zero id, which hosts send as the
// "after" of a deleted ref.
func zeroSHA(sha string) bool {
	return sha != "" && strings.Trim(sha, "0") == ""
}
