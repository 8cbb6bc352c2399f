package forge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/writeback"
)

// Options configure a Client.
type Options struct {
	// Provider is github, gitlab or gitea.
	Provider string
	// Repo is owner/name, or a GitLab project path (group/sub/project).
	Repo string
	// BaseURL is the API root: default https://api.github.com for github,
	// https://gitlab.com/api/v4 for gitlab; required for gitea
	// (https://gitea.example.com, /api/v1 is added).
	BaseURL string
	// Token authenticates; never logged.
	Token string
	// Client sends the requests; nil means http.DefaultClient.
	Client *http.Client
}

// DefaultOptions has no provider, repository or token.
func DefaultOptions() Options { return Options{} }

// Client talks to one repository of one forge.
type Client struct {
	opts Options
	api  provider
}

var _ writeback.Forge = (*Client)(nil)

// provider is one forge's vocabulary for the three calls.
type provider interface {
	find(ctx context.Context, c *Client, head, base string) (number int, url string, err error)
	create(ctx context.Context, c *Client, pr writeback.PullRequest) (int, string, error)
	update(ctx context.Context, c *Client, number int, pr writeback.PullRequest) (string, error)
}

// New validates opts.
func New(opts Options) (*Client, error) {
	c := &Client{opts: opts}
	switch opts.Provider {
	case "github":
		c.api = github{}
		if c.opts.BaseURL == "" {
			c.opts.BaseURL = "https://api.github.com"
		}
	case "gitlab":
		c.api = gitlab{}
		if c.opts.BaseURL == "" {
			c.opts.BaseURL = "https://gitlab.com/api/v4"
		}
	case "gitea":
		c.api = gitea{}
		if c.opts.BaseURL == "" {
			return nil, errors.New("forge gitea: a base URL is required")
		}
		c.opts.BaseURL = strings.TrimSuffix(c.opts.BaseURL, "/") + "/api/v1"
	default:
		return nil, fmt.Errorf("forge: provider %q: want github, gitlab or gitea", opts.Provider)
	}
	c.opts.BaseURL = strings.TrimSuffix(c.opts.BaseURL, "/")
	u, err := url.Parse(c.opts.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("forge %s: base URL %q: want http(s)://host/...", opts.Provider, reconcile.Redact(c.opts.BaseURL))
	}
	if u.User != nil {
		return nil, fmt.Errorf("forge %s: the base URL must not hold credentials: set the token", opts.Provider)
	}
	if opts.Repo == "" || (opts.Provider != "gitlab" && strings.Count(opts.Repo, "/") != 1) {
		return nil, fmt.Errorf("forge %s: repo %q: want owner/name", opts.Provider, opts.Repo)
	}
	if opts.Token == "" {
		return nil, fmt.Errorf("forge %s: a token is required", opts.Provider)
	}
	return c, nil
}

// EnsurePullRequest updates the open pull request from pr.Head to pr.Base,
// or opens one.
func (c *Client) EnsurePullRequest(ctx context.Context, pr writeback.PullRequest) (writeback.PullRequestResult, error) {
	n, u, err := c.api.find(ctx, c, pr.Head, pr.Base)
	if err != nil {
		return writeback.PullRequestResult{}, err
	}
	if n != 0 {
		if u2, err := c.api.update(ctx, c, n, pr); err != nil {
			return writeback.PullRequestResult{}, err
		} else if u2 != "" {
			u = u2
		}
		return writeback.PullRequestResult{Number: n, URL: u}, nil
	}
	n, u, err = c.api.create(ctx, c, pr)
	if err != nil {
		return writeback.PullRequestResult{}, err
	}
	return writeback.PullRequestResult{Number: n, URL: u, Created: true}, nil
}

// HTTPError is a request the forge answered with a non-2xx status.
type HTTPError struct {
	Provider, Method, Path string
	Status                 int
	// Body is the start of the answer, the token masked.
	Body string
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("forge %s: %s %s: %d %s", e.Provider, e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// do sends a JSON request to BaseURL+path and decodes the answer into out.
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("forge %s: encode: %w", c.opts.Provider, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.opts.BaseURL+path, body)
	if err != nil {
		return fmt.Errorf("forge %s: %s", c.opts.Provider, c.mask(err.Error()))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "steward")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch c.opts.Provider {
	case "github":
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
		req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	case "gitlab":
		req.Header.Set("PRIVATE-TOKEN", c.opts.Token)
	case "gitea":
		req.Header.Set("Authorization", "token "+c.opts.Token)
	}
	client := c.opts.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("forge %s: %s %s: %s", c.opts.Provider, method, path, c.mask(err.Error()))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("forge %s: %s %s: %w", c.opts.Provider, method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		snippet := string(data)
		if len(snippet) > 300 {
			snippet = snippet[:300]
		}
		return &HTTPError{Provider: c.opts.Provider, Method: method, Path: path, Status: resp.StatusCode, Body: c.mask(strings.TrimSpace(snippet))}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("forge %s: %s %s: decode: %w", c.opts.Provider, method, path, err)
		}
	}
	return nil
}

func (c *Client) mask(s string) string {
	if c.opts.Token != "" {
		s = strings.ReplaceAll(s, c.opts.Token, "***")
	}
	return s
}

// ownerRepo escapes owner/name for a path.
func (c *Client) ownerRepo() string {
	owner, name, _ := strings.Cut(c.opts.Repo, "/")
	return url.PathEscape(owner) + "/" + url.PathEscape(name)
}
