package packages_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
	"github.com/stewardhq/steward/generators/command"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/writeback"
	"github.com/stewardhq/steward/sources/git"
)

// The daemon's lock proposal goes through the image write-back path: a
// new version is resolved on the branch's head, the package unit is
// generated and checked, and steward.lock is committed and pushed.
func TestLockProposalThroughWriteBack(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	pkg := pkgRepo(t, srv, "ops", "v1.0.0")
	r := newResolver(t, t.TempDir())
	stackYAML := "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  here: {local: {root: out}}\nunits:\n" + unit("a", pkg.URL, "channel: stable")
	lock, _, err := r.Update(t.Context(), stackOf(t, unit("a", pkg.URL, "channel: stable")), nil)
	if err != nil {
		t.Fatal(err)
	}
	stackRepo := srv.NewRepo(t, "shop")
	stackRepo.Commit(t, "stack", map[string]string{"steward.yaml": stackYAML, "steward.lock": string(mustMarshal(t, lock))})

	pkg.Commit(t, "v1.1.0", greeter("v1.1.0"))
	pkg.Tag(t, "greeter/v1.1.0", false)

	so := git.DefaultSourceOptions()
	so.URL, so.CacheDir = stackRepo.URL, filepath.Join(t.TempDir(), "push")
	src, err := git.NewSource(so)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ro := reconcile.DefaultRenderOptions()
	ro.Generators = func(u *reconcile.Unit) (reconcile.Generator, error) { return command.New(u.Generator.Command), nil }
	opts := writeback.DefaultOptions()
	opts.Branch, opts.Stages = "main", reconcile.Stages{Renderer: reconcile.NewRenderer(ro), Packages: r}
	res, err := writeback.Push(t.Context(), &git.Remote{Source: src}, []writeback.Proposal{r.LockProposal()}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit == "" || len(res.Outcomes) != 1 || res.Outcomes[0].Err != nil || !slicesEqual(res.Outcomes[0].Units, []string{"a"}) {
		t.Fatalf("write-back: %+v", res)
	}
	stackRepo.Git(t, "pull", "-q", "origin", "main")
	got := stackRepo.Git(t, "show", "HEAD:steward.lock")
	if !strings.Contains(got, "version: v1.1.0") {
		t.Fatalf("pushed lock:\n%s", got)
	}
	if msg := stackRepo.Git(t, "log", "-1", "--format=%B"); !strings.Contains(msg, "a: steward.lock: v1.0.0 → v1.1.0 (package a)") {
		t.Fatalf("commit message:\n%s", msg)
	}
	// Nothing new: nothing to commit.
	res, err = writeback.Push(t.Context(), &git.Remote{Source: src}, []writeback.Proposal{r.LockProposal()}, opts)
	if err != nil || res.Commit != "" {
		t.Fatalf("second write-back: %+v, %v", res, err)
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }
