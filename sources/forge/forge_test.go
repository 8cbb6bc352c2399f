package forge

import (
	"errors"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile/writeback"
	"github.com/stewardhq/steward/sources/forge/forgetest"
)

func TestEnsurePullRequest(t *testing.T) {
	for _, provider := range []string{"github", "gitlab", "gitea"} {
		t.Run(provider, func(t *testing.T) {
			fake := forgetest.Start(t, "tok-secret-42")
			repo := "org/shop"
			if provider == "gitlab" {
				repo = "group/sub/shop"
			}
			c, err := New(Options{Provider: provider, Repo: repo, BaseURL: fake.URL, Token: "tok-secret-42"})
			if err != nil {
				t.Fatal(err)
			}
			first, err := c.EnsurePullRequest(t.Context(), writeback.PullRequest{Head: "image-updates", Base: "main", Title: "one", Body: "body 1"})
			if err != nil || !first.Created || first.Number != 1 || first.URL == "" {
				t.Fatalf("first = %+v, %v", first, err)
			}
			second, err := c.EnsurePullRequest(t.Context(), writeback.PullRequest{Head: "image-updates", Base: "main", Title: "two", Body: "body 2"})
			if err != nil || second.Created || second.Number != 1 {
				t.Fatalf("second = %+v, %v", second, err)
			}
			prs := fake.PRs()
			if len(prs) != 1 || prs[0].Title != "two" || prs[0].Body != "body 2" || prs[0].Updates != 1 || prs[0].Head != "image-updates" || prs[0].Base != "main" {
				t.Fatalf("pull requests = %+v", prs)
			}
			// Another head is another pull request.
			if other, err := c.EnsurePullRequest(t.Context(), writeback.PullRequest{Head: "other", Base: "main", Title: "x"}); err != nil || !other.Created || other.Number != 2 {
				t.Fatalf("other = %+v, %v", other, err)
			}
		})
	}
}

func TestEnsurePullRequestBadToken(t *testing.T) {
	fake := forgetest.Start(t, "right-token")
	c, err := New(Options{Provider: "github", Repo: "org/shop", BaseURL: fake.URL, Token: "wrong-token-xyz"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.EnsurePullRequest(t.Context(), writeback.PullRequest{Head: "h", Base: "main", Title: "t"})
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 401 || strings.Contains(err.Error(), "wrong-token-xyz") {
		t.Fatalf("err = %v", err)
	}
	if fake.Unauthorized() != 1 || len(fake.PRs()) != 0 {
		t.Fatalf("unauthorized %d, prs %v", fake.Unauthorized(), fake.PRs())
	}
}

func TestNewRefuses(t *testing.T) {
	for _, o := range []Options{
		{Provider: "bitbucket", Repo: "a/b", Token: "t"},
		{Provider: "github", Repo: "nope", Token: "t"},
		{Provider: "github", Repo: "a/b"},
		{Provider: "gitea", Repo: "a/b", Token: "t"},
		{Provider: "github", Repo: "a/b", Token: "t", BaseURL: "https://user:pw@api.example.com"},
		{Provider: "gitlab", Repo: "a/b", Token: "t", BaseURL: "ftp://x"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) succeeded", o)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("error leaks credentials: %v", err)
		}
	}
}
