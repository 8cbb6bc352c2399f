package packages_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/sources/git"
	"github.com/stewardhq/steward/sources/packages"
)

// greeter is a package that writes one File with a greeting.
func greeter(version string) map[string]string {
	return map[string]string{
		"greeter/steward-package.yaml": `apiVersion: steward.dev/v1
kind: Package
name: greeter
description: one File with a greeting
generator: {command: {run: ["sh", "gen.sh"], hermetic: true}}
parameters:
  type: object
  properties:
    greeting: {type: string}
    count: {type: integer, minimum: 1, default: 1}
  required: [greeting]
  additionalProperties: false
checks:
  - {name: under-greetings, match: {kind: File}, cel: "object.spec.path.startsWith('/greetings/')"}
targetKinds: [machines, local]
`,
		"greeter/gen.sh": `#!/bin/sh
cat <<YAML
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: greeting}
spec: {path: /greetings/hello, content: "$STEWARD_PARAM_GREETING x$STEWARD_PARAM_COUNT (` + version + `)\n"}
YAML
`,
	}
}

// pkgRepo serves a repository with greeter tagged at the versions given,
// one commit each, in order.
func pkgRepo(t *testing.T, srv *gitserver.Server, name string, versions ...string) *gitserver.Repo {
	t.Helper()
	repo := srv.NewRepo(t, name)
	for _, v := range versions {
		repo.Commit(t, "greeter "+v, greeter(v))
		repo.Tag(t, "greeter/"+v, strings.HasSuffix(v, ".0"))
	}
	return repo
}

func stackOf(t *testing.T, units string) *reconcile.Stack {
	t.Helper()
	s, err := reconcile.ParseStack([]byte("apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  here: {local: {root: out}}\nunits:\n"+units), "steward.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func unit(name, url, follow string) string {
	return "  - name: " + name + "\n    package: {git: \"" + url + "\", path: greeter, " + follow + "}\n    target: here\n    with: {greeting: hi}\n"
}

func newResolver(t *testing.T, cache string) *packages.Resolver {
	t.Helper()
	opts := packages.DefaultOptions()
	opts.CacheDir = cache
	r, err := packages.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// locked returns a revision of a stack repository holding lock.
func locked(t *testing.T, lock *packages.Lock) *reconcile.Revision {
	t.Helper()
	b, err := lock.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return &reconcile.Revision{ID: "stack", Tree: fstest.MapFS{packages.LockFile: {Data: b}}}
}

func resolve(t *testing.T, r *packages.Resolver, rev *reconcile.Revision, stack *reconcile.Stack) ([]*reconcile.ResolvedPackage, []error) {
	t.Helper()
	units, _ := stack.Select(nil)
	return r.ResolvePackages(t.Context(), rev, stack, units)
}

func TestUpdatePicksByRangeAndChannel(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	repo := pkgRepo(t, srv, "ops", "v1.0.0", "v1.1.0-rc.1", "v1.1.0", "v1.2.0-rc.1", "v2.0.0-beta.1", "v2.0.0-alpha.3")
	stack := stackOf(t,
		unit("stable", repo.URL, "channel: stable")+
			unit("candidate", repo.URL, "channel: candidate")+
			unit("beta", repo.URL, "channel: beta")+
			unit("edge", repo.URL, "channel: edge")+
			unit("ranged", repo.URL, `version: ">=1.0 <1.1"`)+
			"  - name: default\n    package: {git: \""+repo.URL+"\", path: greeter}\n    target: here\n    with: {greeting: hi}\n")
	r := newResolver(t, t.TempDir())
	lock, changes, err := r.Update(t.Context(), stack, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"stable": "v1.1.0", "candidate": "v1.2.0-rc.1", "beta": "v2.0.0-beta.1", "edge": "v2.0.0-beta.1", "ranged": "v1.0.0", "default": "v1.1.0"}
	for name, v := range want {
		e := lock.Entry(name)
		if e == nil || e.Version != v || e.Ref != "refs/tags/greeter/"+v || len(e.Commit) != 40 || !strings.HasPrefix(e.Hash, "sha256:") {
			t.Errorf("%s locked %+v, want %s", name, e, v)
		}
	}
	if len(changes) != len(want) {
		t.Errorf("changes = %v, want one per unit", changes)
	}
}

func TestResolveLockedNothingChanged(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	repo := pkgRepo(t, srv, "ops", "v1.0.0", "v1.1.0")
	stack := stackOf(t, unit("a", repo.URL, "channel: stable")+unit("b", repo.URL, `version: "<1.1"`))
	r := newResolver(t, t.TempDir())
	lock, _, err := r.Update(t.Context(), stack, nil)
	if err != nil {
		t.Fatal(err)
	}
	rev := locked(t, lock)
	srv.ResetCounts()
	pkgs, errs := resolve(t, r, rev, stack)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("unit %d: %v", i, err)
		}
	}
	if pkgs[0].Version != "v1.1.0" || pkgs[1].Version != "v1.0.0" || fmt.Sprint(pkgs[0].Params["count"]) != "1" || pkgs[0].Manifest.Name != "greeter" {
		t.Fatalf("resolved %+v, %+v", pkgs[0], pkgs[1])
	}
	if c := srv.Counts(); c.RefAdvertisements != 1 || c.Packs != 0 {
		t.Fatalf("nothing changed, yet the resolution made %d ref advertisements and %d fetches (want 1 and 0)", c.RefAdvertisements, c.Packs)
	}
	// A new version is not taken up until the lock is updated.
	repo.Commit(t, "v1.2.0", greeter("v1.2.0"))
	repo.Tag(t, "greeter/v1.2.0", false)
	pkgs, errs = resolve(t, r, rev, stack)
	if errs[0] != nil || pkgs[0].Version != "v1.1.0" {
		t.Fatalf("with a newer version published, the locked unit resolved to %+v (%v)", pkgs[0], errs[0])
	}
	_, changes, err := r.Update(t.Context(), stack, lock)
	if err != nil || len(changes) != 1 || changes[0].String() != "a: v1.1.0 -> v1.2.0" {
		t.Fatalf("update: %v, %v", changes, err)
	}
}

func TestResolveRefusesMovedTag(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	repo := pkgRepo(t, srv, "ops", "v1.0.0")
	stack := stackOf(t, unit("a", repo.URL, "channel: stable"))
	r := newResolver(t, t.TempDir())
	lock, _, err := r.Update(t.Context(), stack, nil)
	if err != nil {
		t.Fatal(err)
	}
	was := lock.Entry("a").Commit
	// Someone re-tags v1.0.0 onto other content and force-pushes the tag.
	repo.Commit(t, "tampered", map[string]string{"greeter/gen.sh": "#!/bin/sh\necho evil\n"})
	now := repo.Tag(t, "greeter/v1.0.0", true)
	_, errs := resolve(t, newResolver(t, t.TempDir()), locked(t, lock), stack)
	var me *packages.MismatchError
	if !errors.As(errs[0], &me) || me.What != "commit" || me.Locked != was || me.Found != now {
		t.Fatalf("moved tag: err = %v, want a commit mismatch %s -> %s", errs[0], was, now)
	}
	for _, w := range []string{"refs/tags/greeter/v1.0.0", was, now, "refused"} {
		if !strings.Contains(errs[0].Error(), w) {
			t.Errorf("error %q does not name %s", errs[0], w)
		}
	}
}

func TestResolveRefusesContentHashMismatch(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	repo := pkgRepo(t, srv, "ops", "v1.0.0")
	stack := stackOf(t, unit("a", repo.URL, "channel: stable"))
	r := newResolver(t, t.TempDir())
	lock, _, err := r.Update(t.Context(), stack, nil)
	if err != nil {
		t.Fatal(err)
	}
	lock.Packages[0].Hash = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	_, errs := resolve(t, r, locked(t, lock), stack)
	var me *packages.MismatchError
	if !errors.As(errs[0], &me) || me.What != "content hash" || !strings.Contains(errs[0].Error(), "content hash sha256:0000") {
		t.Fatalf("err = %v, want a content hash mismatch", errs[0])
	}
}

func TestResolveUnreachableKeepsLockedVersion(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	repo := pkgRepo(t, srv, "ops", "v1.0.0")
	stack := stackOf(t, unit("a", repo.URL, "channel: stable"))
	cache := t.TempDir()
	r := newResolver(t, cache)
	lock, _, err := r.Update(t.Context(), stack, nil)
	if err != nil {
		t.Fatal(err)
	}
	rev := locked(t, lock)
	// The repository goes away.
	if err := os.Rename(filepath.Join(srv.Root, "ops.git"), filepath.Join(srv.Root, "gone.git")); err != nil {
		t.Fatal(err)
	}
	pkgs, errs := resolve(t, newResolver(t, cache), rev, stack)
	if errs[0] != nil || pkgs[0].Version != "v1.0.0" || pkgs[0].Revision.ID != lock.Entry("a").Commit {
		t.Fatalf("unreachable repository with the locked commit cached: %+v, %v", pkgs[0], errs[0])
	}
	// Without the clone there is nothing to generate from: a clear error.
	_, errs = resolve(t, newResolver(t, t.TempDir()), rev, stack)
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "is not in the local clone") {
		t.Fatalf("unreachable and not cached: err = %v", errs[0])
	}
	// Updating needs the repository.
	if _, _, err := newResolver(t, cache).Update(t.Context(), stack, lock); err == nil || !strings.Contains(err.Error(), "unit a:") {
		t.Fatalf("update of an unreachable repository: err = %v", err)
	}
}

func TestResolveNoVersionMatching(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	repo := pkgRepo(t, srv, "ops", "v1.0.0", "v1.1.0-rc.1")
	r := newResolver(t, t.TempDir())
	for _, tc := range []struct{ follow, want string }{
		{`version: ">=2"`, `version ">=2": no version matches (versions: v1.0.0, v1.1.0-rc.1)`},
		{`version: ">=1.1.0-0 <1.1.0"`, ""},
	} {
		_, _, err := r.Update(t.Context(), stackOf(t, unit("a", repo.URL, tc.follow)), nil)
		var nv *packages.NoVersionError
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.follow, err)
			}
			continue
		}
		if !errors.As(err, &nv) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "unit a:") {
			t.Errorf("%s: err = %v, want %q", tc.follow, err, tc.want)
		}
	}
}

func TestResolveStaleLock(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	repo := pkgRepo(t, srv, "ops", "v1.0.0")
	r := newResolver(t, t.TempDir())
	lock, _, err := r.Update(t.Context(), stackOf(t, unit("a", repo.URL, "channel: stable")), nil)
	if err != nil {
		t.Fatal(err)
	}
	stack := stackOf(t, unit("a", repo.URL, "channel: candidate")+unit("b", repo.URL, "channel: stable"))
	_, errs := resolve(t, r, locked(t, lock), stack)
	var se *packages.StaleError
	if !errors.As(errs[0], &se) || !strings.Contains(errs[0].Error(), "steward.lock was written for") {
		t.Errorf("changed channel: err = %v", errs[0])
	}
	if !errors.As(errs[1], &se) || !strings.Contains(errs[1].Error(), "is not in steward.lock; run steward packages update") {
		t.Errorf("new unit: err = %v", errs[1])
	}
}

// Package repositories are verified like the main one: a package version
// whose commit is not signed by a trusted key is refused; a signed one
// resolves.
func TestResolveVerifiesSignatures(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	repo := srv.NewRepo(t, "ops")
	trusted := gitserver.NewSSHKey(t, "ops@steward.invalid")
	repo.CommitSignedSSH(t, trusted, "greeter signed", greeter("v1.0.0"))
	repo.Tag(t, "greeter/v1.0.0", false)
	repo.Commit(t, "greeter unsigned", greeter("v1.1.0"))
	repo.Tag(t, "greeter/v1.1.0", false)
	opts := packages.DefaultOptions()
	opts.CacheDir = t.TempDir()
	opts.Verify = &git.VerifyOptions{AllowedSigners: trusted.AllowedSigners}
	r, err := packages.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, _, err = r.Update(t.Context(), stackOf(t, unit("a", repo.URL, `version: "1.1.0"`)), nil)
	if !errors.Is(err, git.ErrUnsigned) || !strings.Contains(err.Error(), "unit a:") {
		t.Fatalf("unsigned package version: err = %v", err)
	}
	stack := stackOf(t, unit("a", repo.URL, `version: "1.0.0"`))
	lock, _, err := r.Update(t.Context(), stack, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, errs := resolve(t, r, locked(t, lock), stack); errs[0] != nil {
		t.Fatalf("signed package version: %v", errs[0])
	}
}

// edge with no version tag follows the default branch; the lock keeps its
// commit when the branch moves on, until the lock is updated.
func TestEdgeFollowsDefaultBranch(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	repo := srv.NewRepo(t, "ops")
	first := repo.Commit(t, "greeter", greeter("head"))
	stack := stackOf(t, unit("a", repo.URL, "channel: edge"))
	r := newResolver(t, t.TempDir())
	lock, _, err := r.Update(t.Context(), stack, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e := lock.Entry("a"); e.Ref != "refs/heads/main" || e.Commit != first || e.Version != "main" {
		t.Fatalf("edge on the default branch locked %+v", e)
	}
	repo.Commit(t, "next", map[string]string{"greeter/README": "next\n"})
	pkgs, errs := resolve(t, r, locked(t, lock), stack)
	if errs[0] != nil || pkgs[0].Revision.ID != first {
		t.Fatalf("after the branch moved on: %+v, %v", pkgs[0], errs[0])
	}
	if _, errs := resolve(t, newResolver(t, t.TempDir()), locked(t, lock), stack); errs[0] == nil || !strings.Contains(errs[0].Error(), "branch main moved on") {
		t.Fatalf("branch moved on, commit not cached: %v", errs[0])
	}
}
