package packages

import (
	"fmt"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/images/policy"
)

// Version is one version of a package: its tag (or OCI tag) and semver.
type Version struct {
	Tag     string // v1.2.3, without the NAME/ prefix
	Ref     string // refs/tags/NAME/v1.2.3, or the OCI tag
	Version *semver.Version
}

// Versions reads the versions of the package ref names out of tag names
// (git refs/tags/... or OCI tags): those with the package's prefix
// followed by v and a semver version. Others are skipped.
func Versions(ref *reconcile.PackageRef, names []string) []Version {
	var out []Version
	for _, n := range names {
		tag := strings.TrimPrefix(n, "refs/tags/")
		rest, ok := strings.CutPrefix(tag, ref.TagPrefix())
		if !ok || !strings.HasPrefix(rest, "v") || strings.Contains(rest, "/") {
			continue
		}
		v, err := semver.StrictNewVersion(rest[1:])
		if err != nil {
			continue
		}
		out = append(out, Version{Tag: rest, Ref: n, Version: v})
	}
	slices.SortFunc(out, func(a, b Version) int { return a.Version.Compare(b.Version) })
	return out
}

// Pick returns the highest version the unit's range or channel admits.
func Pick(ref *reconcile.PackageRef, versions []Version) (Version, error) {
	sel, err := ref.Selector()
	if err != nil {
		return Version{}, err
	}
	for i := len(versions) - 1; i >= 0; i-- {
		if sel.Admits(versions[i].Version) {
			return versions[i], nil
		}
	}
	return Version{}, &NoVersionError{Package: ref, Versions: versions}
}

// NoVersionError is a package with no version the unit admits.
type NoVersionError struct {
	Package  *reconcile.PackageRef
	Versions []Version
}

func (e *NoVersionError) Error() string {
	if len(e.Versions) == 0 {
		return fmt.Sprintf("package %s: no version: the repository has no %sv* version tag", e.Package, e.Package.TagPrefix())
	}
	var tags []string
	for i, v := range e.Versions {
		if len(e.Versions)-i > 10 {
			continue
		}
		tags = append(tags, v.Tag)
	}
	more := ""
	if len(e.Versions) > 10 {
		more = fmt.Sprintf(" (and %d older)", len(e.Versions)-10)
	}
	return fmt.Sprintf("package %s: no version matches (versions: %s%s)", e.Package, strings.Join(tags, ", "), more)
}

// followsHead reports whether a unit on the edge channel with no version
// at all follows the default branch's head.
func followsHead(ref *reconcile.PackageRef) bool {
	sel, err := ref.Selector()
	return err == nil && sel.Range == nil && sel.Channel == policy.Edge
}
