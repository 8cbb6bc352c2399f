package git

import (
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
)

func TestCommitAndPush(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{User: "bot", Password: "push-token-123"})
	repo := srv.NewRepo(t, "app")
	repo.Commit(t, "base", map[string]string{
		"apps/web/values.yaml": "image: app:1.0\n",
		"apps/web/run.sh":      "#!/bin/sh\n",
		"apps/old/x.yaml":      "x\n",
		"README.md":            "r\n",
	})
	for _, depth := range []int{1, 0} {
		s := newSource(t, SourceOptions{URL: repo.URL, Depth: depth, AllowInsecureHTTP: true, Auth: Auth{Username: "bot", Token: "push-token-123"}})
		base := poll(t, s)
		author := object.Signature{Name: "steward", Email: "steward@steward.invalid"}

		id, err := s.Commit(t.Context(), CommitOptions{
			Branch:  "image-updates",
			Message: "images: app 1.1",
			Author:  author,
			Files: map[string][]byte{
				"apps/web/values.yaml": []byte("image: app:1.1\n"),
				"apps/web/run.sh":      []byte("#!/bin/sh\necho\n"),
				"apps/old/x.yaml":      nil, // the directory disappears
				"new/dir/file.yaml":    []byte("n\n"),
			},
		})
		if err != nil {
			t.Fatalf("depth %d: commit: %v", depth, err)
		}
		srv.ResetCounts()
		if err := s.Push(t.Context(), "refs/heads/image-updates:refs/heads/image-updates"); err != nil {
			t.Fatalf("depth %d: push: %v", depth, err)
		}
		if c := srv.Counts(); c.Receives != 1 {
			t.Fatalf("push requests = %+v", c)
		}
		if got := repo.GitBare(t, "rev-parse", "image-updates"); got != id {
			t.Fatalf("remote image-updates = %s, want %s", got, id)
		}
		if got := repo.GitBare(t, "rev-parse", "image-updates^"); got != base.ID {
			t.Fatalf("parent = %s, want %s", got, base.ID)
		}
		tree := repo.GitBare(t, "ls-tree", "-r", "image-updates")
		for _, want := range []string{"100755 blob", "apps/web/run.sh", "new/dir/file.yaml", "README.md"} {
			if !strings.Contains(tree, want) {
				t.Fatalf("tree lacks %q:\n%s", want, tree)
			}
		}
		if strings.Contains(tree, "apps/old") {
			t.Fatalf("deleted path still there:\n%s", tree)
		}
		if got := repo.GitBare(t, "show", "image-updates:apps/web/values.yaml"); got != "image: app:1.1" {
			t.Fatalf("values = %q", got)
		}
		if out := repo.GitBare(t, "fsck", "--no-dangling"); strings.Contains(out, "error") {
			t.Fatalf("fsck: %s", out)
		}
		repo.GitBare(t, "branch", "-D", "image-updates")
	}

	// A push that is not a fast-forward is rejected with a clear error.
	s := newSource(t, SourceOptions{URL: repo.URL, AllowInsecureHTTP: true, Auth: Auth{Username: "bot", Password: "push-token-123"}})
	poll(t, s)
	if _, err := s.Commit(t.Context(), CommitOptions{Branch: "main", Message: "m", Author: object.Signature{Name: "a", Email: "a@x"},
		Files: map[string][]byte{"README.md": []byte("mine\n")}}); err != nil {
		t.Fatal(err)
	}
	repo.Commit(t, "someone else", map[string]string{"README.md": "theirs\n"})
	err := s.Push(t.Context(), "refs/heads/main:refs/heads/main")
	if err == nil || !strings.Contains(err.Error(), "push http://") || strings.Contains(err.Error(), "push-token-123") {
		t.Fatalf("non-fast-forward push = %v", err)
	}

	for _, bad := range []CommitOptions{
		{Branch: "main", Message: "", Author: object.Signature{Name: "a", Email: "a@x"}},
		{Branch: "main", Message: "m", Author: object.Signature{Name: "a", Email: "a@x"}, Files: map[string][]byte{"../x": []byte("x")}},
		{Branch: "main", Message: "m", Author: object.Signature{Name: "a", Email: "a@x"}, Files: map[string][]byte{"README.md": []byte("mine\n")}},
	} {
		if _, err := s.Commit(t.Context(), bad); err == nil {
			t.Errorf("Commit(%+v) succeeded", bad)
		}
	}
}
