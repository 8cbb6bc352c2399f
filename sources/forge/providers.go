package forge

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/stewardhq/steward/reconcile/writeback"
)

// github: /repos/{owner}/{repo}/pulls, head as owner:branch.
type github struct{}

type githubPR struct {
	Number  int    `json:"number"`
	HTMLURL string `json:"html_url"`
}

func (github) find(ctx context.Context, c *Client, head, base string) (int, string, error) {
	owner, _, _ := strings.Cut(c.opts.Repo, "/")
	q := url.Values{"state": {"open"}, "head": {owner + ":" + head}, "base": {base}}
	var prs []githubPR
	if err := c.do(ctx, http.MethodGet, "/repos/"+c.ownerRepo()+"/pulls?"+q.Encode(), nil, &prs); err != nil {
		return 0, "", err
	}
	if len(prs) == 0 {
		return 0, "", nil
	}
	return prs[0].Number, prs[0].HTMLURL, nil
}

func (github) create(ctx context.Context, c *Client, pr writeback.PullRequest) (int, string, error) {
	var out githubPR
	in := map[string]string{"title": pr.Title, "head": pr.Head, "base": pr.Base, "body": pr.Body}
	err := c.do(ctx, http.MethodPost, "/repos/"+c.ownerRepo()+"/pulls", in, &out)
	return out.Number, out.HTMLURL, err
}

func (github) update(ctx context.Context, c *Client, n int, pr writeback.PullRequest) (string, error) {
	var out githubPR
	err := c.do(ctx, http.MethodPatch, fmt.Sprintf("/repos/%s/pulls/%d", c.ownerRepo(), n), map[string]string{"title": pr.Title, "body": pr.Body}, &out)
	return out.HTMLURL, err
}

// gitlab: merge requests of a project addressed by its escaped path.
type gitlab struct{}

type gitlabMR struct {
	IID    int    `json:"iid"`
	WebURL string `json:"web_url"`
}

func gitlabProject(c *Client) string { return "/projects/" + url.PathEscape(c.opts.Repo) }

func (gitlab) find(ctx context.Context, c *Client, head, base string) (int, string, error) {
	q := url.Values{"state": {"opened"}, "source_branch": {head}, "target_branch": {base}}
	var mrs []gitlabMR
	if err := c.do(ctx, http.MethodGet, gitlabProject(c)+"/merge_requests?"+q.Encode(), nil, &mrs); err != nil {
		return 0, "", err
	}
	if len(mrs) == 0 {
		return 0, "", nil
	}
	return mrs[0].IID, mrs[0].WebURL, nil
}

func (gitlab) create(ctx context.Context, c *Client, pr writeback.PullRequest) (int, string, error) {
	var out gitlabMR
	in := map[string]string{"title": pr.Title, "source_branch": pr.Head, "target_branch": pr.Base, "description": pr.Body}
	err := c.do(ctx, http.MethodPost, gitlabProject(c)+"/merge_requests", in, &out)
	return out.IID, out.WebURL, err
}

func (gitlab) update(ctx context.Context, c *Client, n int, pr writeback.PullRequest) (string, error) {
	var out gitlabMR
	err := c.do(ctx, http.MethodPut, fmt.Sprintf("%s/merge_requests/%d", gitlabProject(c), n), map[string]string{"title": pr.Title, "description": pr.Body}, &out)
	return out.WebURL, err
}

// gitea: /repos/{owner}/{repo}/pulls, filtered by head and base here
// (its list has no head filter).
type gitea struct{}

type giteaPR struct {
	Number  int    `json:"number"`
	HTMLURL string `json:"html_url"`
	Head    struct {
		Ref string `json:"ref"`
	} `json:"head"`
	Base struct {
		Ref string `json:"ref"`
	} `json:"base"`
}

func (gitea) find(ctx context.Context, c *Client, head, base string) (int, string, error) {
	for page := 1; page <= 20; page++ {
		var prs []giteaPR
		q := url.Values{"state": {"open"}, "page": {fmt.Sprint(page)}, "limit": {"50"}}
		if err := c.do(ctx, http.MethodGet, "/repos/"+c.ownerRepo()+"/pulls?"+q.Encode(), nil, &prs); err != nil {
			return 0, "", err
		}
		for _, pr := range prs {
			if pr.Head.Ref == head && pr.Base.Ref == base {
				return pr.Number, pr.HTMLURL, nil
			}
		}
		if len(prs) < 50 {
			break
		}
	}
	return 0, "", nil
}

func (gitea) create(ctx context.Context, c *Client, pr writeback.PullRequest) (int, string, error) {
	var out giteaPR
	in := map[string]string{"title": pr.Title, "head": pr.Head, "base": pr.Base, "body": pr.Body}
	err := c.do(ctx, http.MethodPost, "/repos/"+c.ownerRepo()+"/pulls", in, &out)
	return out.Number, out.HTMLURL, err
}

func (gitea) update(ctx context.Context, c *Client, n int, pr writeback.PullRequest) (string, error) {
	var out giteaPR
	err := c.do(ctx, http.MethodPatch, fmt.Sprintf("/repos/%s/pulls/%d", c.ownerRepo(), n), map[string]string{"title": pr.Title, "body": pr.Body}, &out)
	return out.HTMLURL, err
}
