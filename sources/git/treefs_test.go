package git

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
)

// fixture builds a repository with files, an executable, nested
// directories, symlinks inside the tree and a submodule; it returns the repo
// and its HEAD.
func fixture(t *testing.T) (*gitserver.Repo, string) {
	t.Helper()
	r := gitserver.NewLocalRepo(t)
	r.Write(t, map[string]string{
		"README.md":               "hello\n",
		"steward.yaml":            "apiVersion: steward.dev/v1\nkind: Stack\n",
		"apps/web/deploy.yaml":    "kind: Deployment\n",
		"apps/web/values.yaml":    "replicas: 2\n",
		"apps/db/deep/x/y/z.yaml": "z: 1\n",
		"bin/gen.sh":              "#!/bin/sh\necho hi\n",
		"a-b/file":                "sorting: a-b sorts before a/ in git but after a in fs\n",
		"a/file":                  "a\n",
	})
	r.Symlink(t, "link-to-readme", "README.md")
	r.Symlink(t, "apps/current", "web")
	r.Symlink(t, "apps/web/up", "../db/deep")
	r.Symlink(t, "chain", "link-to-readme")
	r.Commit(t, "fixture", nil)
	// A submodule: a gitlink entry pointing at some commit.
	sub := gitserver.NewLocalRepo(t)
	subHead := sub.Commit(t, "sub", map[string]string{"s": "s\n"})
	r.Git(t, "update-index", "--add", "--cacheinfo", "160000,"+subHead+",vendor/sub")
	r.Git(t, "commit", "-q", "-m", "add submodule\n\nbody line")
	r.Push(t)
	return r, r.Head(t)
}

func openTree(t *testing.T, dir, rev string) *TreeFS {
	t.Helper()
	repo, err := Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	rv, err := repo.Tree(t.Context(), rev)
	if err != nil {
		t.Fatal(err)
	}
	return rv.Tree.(*TreeFS)
}

func TestTreeFS(t *testing.T) {
	r, head := fixture(t)
	for _, dir := range []string{r.Work, r.Bare} {
		tree := openTree(t, dir, head)
		if err := fstest.TestFS(tree, "README.md", "apps/web/deploy.yaml", "apps/db/deep/x/y/z.yaml",
			"bin/gen.sh", "link-to-readme", "chain", "vendor/sub"); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		sub, err := fs.Sub(tree, "apps")
		if err != nil {
			t.Fatal(err)
		}
		if err := fstest.TestFS(sub, "web/deploy.yaml", "current"); err != nil {
			t.Fatalf("sub: %v", err)
		}
	}
}

func TestTreeFSModesAndLinks(t *testing.T) {
	r, head := fixture(t)
	tree := openTree(t, r.Bare, head)

	tests := []struct {
		name     string
		stat     fs.FileMode // Stat (follows)
		lstat    fs.FileMode // Lstat
		readlink string
		content  string
	}{
		{name: "README.md", stat: 0o644, lstat: 0o644, content: "hello\n"},
		{name: "bin/gen.sh", stat: 0o755, lstat: 0o755, content: "#!/bin/sh\necho hi\n"},
		{name: "apps", stat: fs.ModeDir | 0o755, lstat: fs.ModeDir | 0o755},
		{name: "link-to-readme", stat: 0o644, lstat: fs.ModeSymlink | 0o777, readlink: "README.md", content: "hello\n"},
		{name: "chain", stat: 0o644, lstat: fs.ModeSymlink | 0o777, readlink: "link-to-readme", content: "hello\n"},
		{name: "apps/current", stat: fs.ModeDir | 0o755, lstat: fs.ModeSymlink | 0o777, readlink: "web"},
		{name: "apps/current/values.yaml", stat: 0o644, lstat: 0o644, content: "replicas: 2\n"},
		{name: "apps/web/up/x/y/z.yaml", stat: 0o644, lstat: 0o644, content: "z: 1\n"},
		{name: "vendor/sub", stat: fs.ModeDir | 0o755, lstat: fs.ModeDir | 0o755},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fi, err := tree.Stat(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != tc.stat {
				t.Errorf("Stat mode = %v, want %v", fi.Mode(), tc.stat)
			}
			li, err := tree.Lstat(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if li.Mode() != tc.lstat {
				t.Errorf("Lstat mode = %v, want %v", li.Mode(), tc.lstat)
			}
			target, err := tree.ReadLink(tc.name)
			if tc.readlink == "" {
				if err == nil {
					t.Errorf("ReadLink of a non-link = %q, want error", target)
				}
			} else if err != nil || target != tc.readlink {
				t.Errorf("ReadLink = %q, %v; want %q", target, err, tc.readlink)
			}
			if tc.content != "" {
				b, err := tree.ReadFile(tc.name)
				if err != nil || string(b) != tc.content {
					t.Errorf("ReadFile = %q, %v; want %q", b, err, tc.content)
				}
				if fi.Size() != int64(len(tc.content)) {
					t.Errorf("Size = %d, want %d", fi.Size(), len(tc.content))
				}
			}
		})
	}

	ents, err := tree.ReadDir("vendor/sub")
	if err != nil || len(ents) != 0 {
		t.Errorf("submodule ReadDir = %v, %v; want empty", ents, err)
	}

	// Hash is the blob id git reports, and follows symlinks.
	want := r.Git(t, "rev-parse", head+":README.md")
	for _, name := range []string{"README.md", "link-to-readme", "chain"} {
		if got, err := tree.Hash(name); err != nil || got != want {
			t.Errorf("Hash(%s) = %s, %v; want %s", name, got, err, want)
		}
	}
	if got, _ := tree.Hash("apps"); got != r.Git(t, "rev-parse", head+":apps") {
		t.Errorf("Hash(apps) = %s, want the tree id", got)
	}
}

func TestTreeFSBadLinks(t *testing.T) {
	r := gitserver.NewLocalRepo(t)
	r.Write(t, map[string]string{"dir/f": "f\n"})
	r.Symlink(t, "abs", "/etc/passwd")
	r.Symlink(t, "up", "../outside")
	r.Symlink(t, "dir/up2", "../../x")
	r.Symlink(t, "dir/ok", "../dir/f")
	r.Symlink(t, "loop1", "loop2")
	r.Symlink(t, "loop2", "loop1")
	r.Symlink(t, "dangling", "nothing")
	head := r.Commit(t, "links", nil)
	tree := openTree(t, r.Bare, head)

	tests := []struct {
		name    string
		wantErr error
		msg     string
	}{
		{"abs", ErrOutsideTree, `abs -> "/etc/passwd"`},
		{"up", ErrOutsideTree, `up -> "../outside"`},
		{"dir/up2", ErrOutsideTree, `up2 -> "../../x"`},
		{"abs/x", ErrOutsideTree, "abs"},
		{"loop1", errTooManyLinks, "too many levels"},
		{"dangling", fs.ErrNotExist, "not exist"},
		{"missing", fs.ErrNotExist, "not exist"},
		{"dir/f/x", fs.ErrNotExist, "not a directory"},
		{"../x", fs.ErrInvalid, "invalid"},
		{"/abs", fs.ErrInvalid, "invalid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tree.Open(tc.name)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Open(%s) = %v, want %v", tc.name, err, tc.wantErr)
			}
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe.Path != tc.name {
				t.Errorf("error %v is not a PathError for %s", err, tc.name)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
	// Lstat and ReadLink still work on links that leave the tree.
	if target, err := tree.ReadLink("abs"); err != nil || target != "/etc/passwd" {
		t.Errorf("ReadLink(abs) = %q, %v", target, err)
	}
	if b, err := tree.ReadFile("dir/ok"); err != nil || string(b) != "f\n" {
		t.Errorf("ReadFile(dir/ok) = %q, %v", b, err)
	}
}

func TestResolve(t *testing.T) {
	r := gitserver.NewLocalRepo(t)
	c1 := r.Commit(t, "one", map[string]string{"f": "1\n"})
	r.Tag(t, "v1", true)
	r.Tag(t, "light", false)
	c2 := r.Commit(t, "two\n\nbody", map[string]string{"f": "2\n"})
	r.Git(t, "fetch", "-q", "origin")
	ctx := context.Background()
	repo, err := Open(ctx, r.Work)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ rev, want string }{
		{c2, c2}, {c2[:7], c2}, {"HEAD", c2}, {"main", c2}, {"HEAD~1", c1}, {"HEAD^", c1},
		{"v1", c1}, {"light", c1}, {"origin/main", c2}, {"refs/heads/main", c2},
	}
	for _, tc := range tests {
		got, err := repo.Resolve(ctx, tc.rev)
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q) = %s, %v; want %s", tc.rev, got, err, tc.want)
		}
	}
	for _, bad := range []string{"nope", "HEAD~5", "0000000", ""} {
		if got, err := repo.Resolve(ctx, bad); err == nil {
			t.Errorf("Resolve(%q) = %s, want error", bad, got)
		} else if !strings.Contains(err.Error(), "revision") {
			t.Errorf("Resolve(%q) error %q does not say revision", bad, err)
		}
	}
	rev, err := repo.Tree(ctx, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	if rev.ID != c2 || rev.Subject != "two" || rev.Time.IsZero() || rev.Dir != "" {
		t.Errorf("revision = %+v", rev)
	}
	if _, err := Open(ctx, t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a git repository") {
		t.Errorf("Open(empty dir) = %v", err)
	}
}
