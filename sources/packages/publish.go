package packages

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/images/policy"
)

// Published is a version a package was tagged at.
type Published struct {
	Tag    string // greeter/v1.2.0
	Commit string // or the OCI digest
}

// PublishGit tags commit as version of the package in dir of the git
// repository at url: NAME/vVERSION in a monorepo (NAME the directory's last
// element, which must be the package's name), vVERSION at the root. The
// commit must already be on the remote (pushed); the package in it must
// load. A version that exists at another commit is refused: published
// versions never move.
func (r *Resolver) PublishGit(ctx context.Context, url, dir, version, commit string) (*Published, error) {
	v, err := parseVersion(version)
	if err != nil {
		return nil, err
	}
	ref := &reconcile.PackageRef{Git: url, Path: dir}
	src, err := r.git.get(url)
	if err != nil {
		return nil, err
	}
	refs, err := src.ListRefs(ctx)
	if err != nil {
		return nil, err
	}
	on := ""
	for name, c := range refs.Commits {
		if c == commit && (strings.HasPrefix(name, "refs/heads/") || strings.HasPrefix(name, "refs/tags/")) && (on == "" || name < on) {
			on = name
		}
	}
	if on == "" {
		return nil, fmt.Errorf("commit %s is not the head of a branch or tag of %s: push it first", commit, reconcile.Redact(url))
	}
	rev, _, err := src.Checkout(ctx, on, refs.Objects[on], commit)
	if err != nil {
		return nil, err
	}
	l, err := r.load(rev, ref, "v"+v.String())
	if err != nil {
		return nil, err
	}
	if p := ref.TagPrefix(); p != "" && l.pkg.Manifest.Name+"/" != p {
		return nil, fmt.Errorf("package %s is in directory %s: in a repository of packages a package's directory is named after it (its tags are NAME/vX.Y.Z)", l.pkg.Manifest.Name, ref.Dir())
	}
	tag := ref.TagPrefix() + "v" + v.String()
	if err := src.PushTag(ctx, tag, commit); err != nil {
		return nil, err
	}
	return &Published{Tag: tag, Commit: commit}, nil
}

// PromoteGit points the stable version of a candidate (v1.3.0 for
// v1.3.0-rc.2) at exactly the candidate's commit. name is the package's
// name: its tags are NAME/v... in a repository of packages, v... when the
// package is the repository's root (whose manifest must then be called
// name).
func (r *Resolver) PromoteGit(ctx context.Context, url, name, version string, to policy.Channel) (*Published, error) {
	v, err := parseVersion(version)
	if err != nil {
		return nil, err
	}
	if to != policy.Stable {
		return nil, fmt.Errorf("promote to %s: only stable can be named from a version (its pre-release dropped)", to)
	}
	if v.Prerelease() == "" {
		return nil, fmt.Errorf("version %s is stable already", version)
	}
	src, err := r.git.get(url)
	if err != nil {
		return nil, err
	}
	refs, err := src.ListRefs(ctx)
	if err != nil {
		return nil, err
	}
	dir := name
	from := "refs/tags/" + name + "/v" + v.String()
	if _, ok := refs.Commits[from]; !ok {
		dir, from = ".", "refs/tags/v"+v.String()
	}
	commit, ok := refs.Commits[from]
	if !ok {
		return nil, fmt.Errorf("%s has no version %s of %s (no tag %s/v%s or v%s)", reconcile.Redact(url), v, name, name, v, v)
	}
	rev, _, err := src.Checkout(ctx, from, refs.Objects[from], commit)
	if err != nil {
		return nil, err
	}
	ref := &reconcile.PackageRef{Git: url, Path: dir}
	l, err := r.load(rev, ref, "v"+v.String())
	if err != nil {
		return nil, err
	}
	if l.pkg.Manifest.Name != name {
		return nil, fmt.Errorf("%s at %s is package %s, not %s", path.Join(dir, reconcile.PackageFile), strings.TrimPrefix(from, "refs/tags/"), l.pkg.Manifest.Name, name)
	}
	stable, _ := v.SetPrerelease("")
	tag := ref.TagPrefix() + "v" + stable.String()
	if err := src.PushTag(ctx, tag, commit); err != nil {
		return nil, err
	}
	return &Published{Tag: tag, Commit: commit}, nil
}

// parseVersion reads a version as given on the command line (1.2.3 or
// v1.2.3).
func parseVersion(s string) (*semver.Version, error) {
	v, err := semver.StrictNewVersion(strings.TrimPrefix(s, "v"))
	if err != nil {
		return nil, fmt.Errorf("version %q: want semver X.Y.Z[-pre]: %v", s, err)
	}
	return v, nil
}
