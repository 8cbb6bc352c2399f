package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/stewardhq/steward/reconcile"
)

// CommitStatusOptions configures a commit-status notifier (GitHub, Gitea,
// GitLab).
type CommitStatusOptions struct {
	// BaseURL is the API root: https://api.github.com,
	// https://gitea.example.com (the notifier adds /api/v1), or
	// https://gitlab.com/api/v4.
	BaseURL string
	// Repo is "owner/name" (GitHub, Gitea) or a GitLab project's numeric id
	// or "group/project" path.
	Repo string
	// Token authenticates: GitHub "Authorization: Bearer", Gitea
	// "Authorization: token", GitLab "PRIVATE-TOKEN". Never logged.
	Token string
	// Context prefixes the status name, one per unit: "steward/<unit>".
	Context string
	// TargetURL links the status to steward's status page, if set.
	TargetURL string
	// Client sends the requests; nil means http.DefaultClient.
	Client *http.Client
}

// DefaultCommitStatusOptions returns options with the "steward" context
// and no base URL, repo or token.
func DefaultCommitStatusOptions() CommitStatusOptions {
	return CommitStatusOptions{Context: "steward"}
}

func (o CommitStatusOptions) validate(name string, ownerRepo bool) error {
	var missing []string
	if o.BaseURL == "" {
		missing = append(missing, "baseURL")
	}
	if o.Repo == "" {
		missing = append(missing, "repo")
	}
	if o.Token == "" {
		missing = append(missing, "token")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s notifier: %s required", name, strings.Join(missing, ", "))
	}
	if ownerRepo {
		owner, repo, ok := strings.Cut(o.Repo, "/")
		if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
			return fmt.Errorf("%s notifier: repo %q: want owner/name", name, o.Repo)
		}
	}
	return checkURL(o.BaseURL)
}

func (o CommitStatusOptions) context(unit string) string {
	if o.Context == "" {
		return unit
	}
	return o.Context + "/" + unit
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q: want http(s)://host/...", reconcile.Redact(s))
	}
	if u.User != nil {
		return errors.New("url must not hold credentials: set the token")
	}
	return nil
}

// githubStatus is the body GitHub and Gitea take.
type githubStatus struct {
	State       string `json:"state"`
	TargetURL   string `json:"target_url,omitempty"`
	Description string `json:"description"`
	Context     string `json:"context"`
}

// githubState maps an event to GitHub's and Gitea's states.
func githubState(k Kind) string {
	switch k {
	case Failed:
		return "failure"
	case Progressing:
		return "pending"
	}
	return "success"
}

// GitHub sets commit statuses through GitHub's REST API:
// POST {base}/repos/{owner}/{repo}/statuses/{sha}.
type GitHub struct{ opts CommitStatusOptions }

var _ Notifier = (*GitHub)(nil)

// NewGitHub returns a GitHub notifier; an empty BaseURL means
// https://api.github.com.
func NewGitHub(opts CommitStatusOptions) (*GitHub, error) {
	if opts.BaseURL == "" {
		opts.BaseURL = "https://api.github.com"
	}
	if err := opts.validate("github", true); err != nil {
		return nil, err
	}
	return &GitHub{opts: opts}, nil
}

// Name implements the named ability.
func (g *GitHub) Name() string { return "github" }

// Notify implements Notifier. An event without a revision has no commit
// to mark and is skipped.
func (g *GitHub) Notify(ctx context.Context, ev Event) error {
	if ev.Revision == "" {
		return nil
	}
	u := strings.TrimSuffix(g.opts.BaseURL, "/") + "/repos/" + g.opts.Repo + "/statuses/" + url.PathEscape(ev.Revision)
	h := http.Header{}
	h.Set("Authorization", "Bearer "+g.opts.Token)
	h.Set("Accept", "application/vnd.github+json")
	h.Set("X-GitHub-Api-Version", "2022-11-28")
	return post(ctx, g.opts.Client, g.Name(), u, h, githubStatus{
		State: githubState(ev.Kind), TargetURL: g.opts.TargetURL,
		Description: ev.Summary(140), Context: g.opts.context(ev.Unit),
	}, g.opts.Token)
}

// Gitea sets commit statuses through Gitea's (and Forgejo's) API:
// POST {base}/api/v1/repos/{owner}/{repo}/statuses/{sha}.
type Gitea struct{ opts CommitStatusOptions }

var _ Notifier = (*Gitea)(nil)

// NewGitea returns a Gitea notifier. BaseURL is the server's root URL or
// its API root (ending in /api/v1), which is not doubled.
func NewGitea(opts CommitStatusOptions) (*Gitea, error) {
	if err := opts.validate("gitea", true); err != nil {
		return nil, err
	}
	opts.BaseURL = strings.TrimSuffix(strings.TrimSuffix(opts.BaseURL, "/"), "/api/v1")
	return &Gitea{opts: opts}, nil
}

// Name implements the named ability.
func (g *Gitea) Name() string { return "gitea" }

// Notify implements Notifier; events without a revision are skipped.
func (g *Gitea) Notify(ctx context.Context, ev Event) error {
	if ev.Revision == "" {
		return nil
	}
	u := strings.TrimSuffix(g.opts.BaseURL, "/") + "/api/v1/repos/" + g.opts.Repo + "/statuses/" + url.PathEscape(ev.Revision)
	h := http.Header{}
	h.Set("Authorization", "token "+g.opts.Token)
	h.Set("Accept", "application/json")
	return post(ctx, g.opts.Client, g.Name(), u, h, githubStatus{
		State: githubState(ev.Kind), TargetURL: g.opts.TargetURL,
		Description: ev.Summary(140), Context: g.opts.context(ev.Unit),
	}, g.opts.Token)
}

// GitLab sets commit statuses through GitLab's API:
// POST {base}/projects/{id}/statuses/{sha}, where base ends in /api/v4.
type GitLab struct{ opts CommitStatusOptions }

var _ Notifier = (*GitLab)(nil)

// NewGitLab returns a GitLab notifier; an empty BaseURL means
// https://gitlab.com/api/v4.
func NewGitLab(opts CommitStatusOptions) (*GitLab, error) {
	if opts.BaseURL == "" {
		opts.BaseURL = "https://gitlab.com/api/v4"
	}
	if err := opts.validate("gitlab", false); err != nil {
		return nil, err
	}
	return &GitLab{opts: opts}, nil
}

// Name implements the named ability.
func (g *GitLab) Name() string { return "gitlab" }

type gitlabStatus struct {
	State       string `json:"state"`
	Name        string `json:"name"`
	Description string `json:"description"`
	TargetURL   string `json:"target_url,omitempty"`
}

// Notify implements Notifier; events without a revision are skipped.
func (g *GitLab) Notify(ctx context.Context, ev Event) error {
	if ev.Revision == "" {
		return nil
	}
	state := "success"
	switch ev.Kind {
	case Failed:
		state = "failed"
	case Progressing:
		state = "running"
	}
	// A project path goes in as one escaped segment: group%2Fproject.
	u := strings.TrimSuffix(g.opts.BaseURL, "/") + "/projects/" + url.PathEscape(g.opts.Repo) + "/statuses/" + url.PathEscape(ev.Revision)
	h := http.Header{}
	h.Set("PRIVATE-TOKEN", g.opts.Token)
	return post(ctx, g.opts.Client, g.Name(), u, h, gitlabStatus{
		State: state, Name: g.opts.context(ev.Unit), Description: ev.Summary(255), TargetURL: g.opts.TargetURL,
	}, g.opts.Token)
}
