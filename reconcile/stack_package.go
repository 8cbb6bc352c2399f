package reconcile

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/stewardhq/steward/reconcile/images/policy"
)

// LockFile is where a stack records what its package units resolved to,
// next to steward.yaml (written by `steward packages update`).
const LockFile = "steward.lock"

// PackageRef names the ops package a unit installs: a directory of a git
// repository at a semver range or a channel, or an OCI artifact.
type PackageRef struct {
	Git     string `yaml:"git,omitempty" doc:"URL of the package's git repository (file://, https://, http://, ssh://); reached with the main repository's credentials and signature checks."`
	OCI     string `yaml:"oci,omitempty" doc:"OCI repository of the package (registry/name, without tag), instead of git."`
	Path    string `yaml:"path,omitempty" doc:"Directory of the package in the git repository (default the root); its tags are NAME/vX.Y.Z where NAME is the directory's last element, vX.Y.Z at the root."`
	Version string `yaml:"version,omitempty" doc:"Semver range of acceptable versions (\">=1.2 <2\"); pre-releases only when the range names one."`
	Channel string `yaml:"channel,omitempty" doc:"Risk level followed instead of a range: stable, candidate, beta or edge (as images' channel)."`
}

// String names the package for messages: its repository, path and what it
// follows. No credentials: URLs are redacted.
func (r *PackageRef) String() string {
	var b strings.Builder
	if r.OCI != "" {
		b.WriteString("oci:" + r.OCI)
	} else {
		b.WriteString(Redact(r.Git))
		if p := r.Dir(); p != "." {
			b.WriteString("//" + p)
		}
	}
	switch {
	case r.Version != "":
		fmt.Fprintf(&b, " version %q", r.Version)
	case r.Channel != "":
		fmt.Fprintf(&b, " channel %s", r.Channel)
	}
	return b.String()
}

// Dir is the package's directory in its repository, clean ("." for the
// root).
func (r *PackageRef) Dir() string {
	if r.Path == "" {
		return "."
	}
	return path.Clean(r.Path)
}

// TagPrefix is what the package's version tags start with before the
// version: "" at the root of a repository, else "NAME/" with NAME the
// directory's last element (a monorepo of packages).
func (r *PackageRef) TagPrefix() string {
	if r.OCI != "" || r.Dir() == "." {
		return ""
	}
	return path.Base(r.Dir()) + "/"
}

// Selector is what the reference follows, compiled: a semver range or a
// channel (stable when neither is set).
type Selector struct {
	Range   *semver.Constraints
	Channel policy.Channel
}

// Selector compiles the version range or channel.
func (r *PackageRef) Selector() (Selector, error) {
	if r.Version != "" {
		c, err := semver.NewConstraint(r.Version)
		if err != nil {
			return Selector{}, fmt.Errorf("version %q: %v", r.Version, err)
		}
		return Selector{Range: c}, nil
	}
	if r.Channel == "" {
		return Selector{Channel: policy.Stable}, nil
	}
	ch, err := policy.ParseChannel(r.Channel)
	if err != nil {
		return Selector{}, err
	}
	return Selector{Channel: ch}, nil
}

// Admits reports whether v may be chosen.
func (s Selector) Admits(v *semver.Version) bool {
	if s.Range != nil {
		return s.Range.Check(v)
	}
	return s.Channel.Admits(v.Prerelease())
}

// validatePackageUnit checks a unit that installs a package: one source,
// a version range or a channel (not both), and no path or generator of its
// own (they come from the package).
func (s *Stack) validatePackageUnit(at string, u *Unit, fail func(string, string, ...any)) {
	r := u.Package
	if r == nil {
		fail(at+".with", "with sets a package's parameters; the unit has no package")
		return
	}
	at += ".package"
	if (r.Git == "") == (r.OCI == "") {
		fail(at, "a package sets exactly one of git, oci")
	}
	if credentialsInURL(r.Git) {
		fail(at+".git", "the URL carries credentials, which steward.lock would record; give them as STEWARD_GIT_TOKEN (or the --…-file flags) instead")
	}
	if r.OCI != "" && r.Path != "" {
		fail(at+".path", "path applies to git packages; an OCI package is its artifact")
	}
	if r.Path != "" {
		if err := CleanRepoPath(r.Path); err != nil {
			fail(at+".path", "%v", err)
		}
	}
	if r.Version != "" && r.Channel != "" {
		fail(at, "set version or channel, not both")
	}
	if _, err := r.Selector(); err != nil {
		field := at + ".version"
		if r.Channel != "" {
			field = at + ".channel"
		}
		fail(field, "%v", err)
	}
	if u.Path != "" {
		fail(strings.TrimSuffix(at, ".package")+".path", "a package unit has no path; it generates from the package's directory")
	}
	unit := strings.TrimSuffix(at, ".package")
	if u.Generator != (GeneratorSpec{}) {
		fail(unit+".generator", "a package unit has no generator; the package brings its own")
	}
	if len(u.ExtraPaths) > 0 {
		fail(unit+".extraPaths", "a package unit generates from the package's files alone")
	}
	if u.Updater != nil {
		fail(unit+".updater", "a package unit has no files here to update; steward.lock pins its version")
	}
}

// credentialsInURL reports whether raw carries a password, or any user
// information in an http(s) URL (a token as the user name). An SSH login
// name (ssh://git@host/…) is not a credential.
func credentialsInURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return false
	}
	_, hasPassword := u.User.Password()
	return hasPassword || u.Scheme == "http" || u.Scheme == "https"
}

// TargetKind names the kind of the target called name: kubernetes,
// machines or local ("" when there is no such target).
func (s *Stack) TargetKind(name string) string {
	t, ok := s.Targets[name]
	switch {
	case !ok:
		return ""
	case t.Kubernetes != nil:
		return "kubernetes"
	case t.Machines != nil:
		return "machines"
	case t.Local != nil:
		return "local"
	}
	return ""
}

// Index returns the place of the unit called name in Units, or -1.
func (s *Stack) Index(name string) int {
	for i := range s.Units {
		if s.Units[i].Name == name {
			return i
		}
	}
	return -1
}

// ResolvedPackage is the content a package unit generates from: its
// manifest, the tree holding it and the parameters the unit gives it.
type ResolvedPackage struct {
	Manifest *PackageManifest
	// Revision is the package's content: a commit of its repository or
	// the files of its OCI artifact. Its ID is the commit or digest.
	Revision *Revision
	// Dir is the package's directory in Revision.Tree.
	Dir string
	// Params are the unit's with:, defaulted and validated against the
	// package's schema.
	Params map[string]any
	// Version is the version that was resolved (a tag, or a commit of the
	// default branch for edge).
	Version string
	// ContentHash is the digest of the package's files (see steward.lock).
	ContentHash string
}

// PackageResolver finds the content of a stack's package units for one
// revision of the stack (its steward.lock says which). Failures are per
// unit: errs[i] for units[i], each naming the unit.
type PackageResolver interface {
	ResolvePackages(ctx context.Context, rev *Revision, stack *Stack, units []*Unit) (pkgs []*ResolvedPackage, errs []error)
}

// ResolvedPackage returns the package u generates from, nil for a unit with its
// own path and generator (or one not resolved yet).
func (u *Unit) ResolvedPackage() *ResolvedPackage { return u.pkg }

// UsePackage makes the package unit at Units[i] generate from p: its
// generator and directory, its default health when the unit has none, and
// its checks, added to the stack's for the unit's objects alone. A package
// that does not support the kind of the unit's target is refused, naming
// the stack's line.
func (s *Stack) UsePackage(u *Unit, p *ResolvedPackage) error {
	i := s.Index(u.Name)
	m := p.Manifest
	kind := s.TargetKind(u.Target)
	if len(m.TargetKinds) > 0 && !slices.Contains(m.TargetKinds, kind) {
		at := fmt.Sprintf("units[%d].target", i)
		return &FieldError{File: s.File, Pos: s.pos[at], Field: at,
			Msg: fmt.Sprintf("package %s supports targets of kind %s; target %q is %s", m.Name, strings.Join(m.TargetKinds, ", "), u.Target, kind)}
	}
	u.Path, u.Generator, u.pkg = p.Dir, m.Generator, p
	if u.Health == nil && kind != "kubernetes" {
		u.Health = m.Health
	}
	for _, c := range m.Checks {
		c.Name = "package " + m.Name + ": " + c.Name
		c.Match.Units = []string{u.Name}
		s.Checks = append(s.Checks, c)
	}
	return nil
}

// usePackages resolves the package units among units through r and points
// each at its package; it returns the failure of each unit that could not
// be (nil where it could), by place in units.
func usePackages(ctx context.Context, r PackageResolver, rev *Revision, stack *Stack, units []*Unit) []error {
	var pu []*Unit
	var at []int
	for i, u := range units {
		if u.Package != nil && u.pkg == nil {
			pu, at = append(pu, u), append(at, i)
		}
	}
	out := make([]error, len(units))
	if len(pu) == 0 {
		return out
	}
	if r == nil {
		for j, u := range pu {
			out[at[j]] = fmt.Errorf("package %s: this steward resolves no packages", u.Package)
		}
		return out
	}
	pkgs, errs := r.ResolvePackages(ctx, rev, stack, pu)
	for j, u := range pu {
		switch {
		case j < len(errs) && errs[j] != nil:
			out[at[j]] = errs[j]
		case j >= len(pkgs) || pkgs[j] == nil:
			out[at[j]] = fmt.Errorf("package %s: not resolved", u.Package)
		default:
			out[at[j]] = stack.UsePackage(u, pkgs[j])
		}
	}
	return out
}

// Params returns the parameters of a resolved package unit, nil for any
// other unit.
func (u *Unit) Params() map[string]any {
	if u.pkg == nil {
		return nil
	}
	return u.pkg.Params
}
