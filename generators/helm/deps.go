package helm

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"

	"github.com/stewardhq/steward/reconcile"
)

// maxDepDepth bounds how deep file:// dependencies may nest (a chart that
// depends on itself through file:// would otherwise recurse forever).
const maxDepDepth = 8

// DependencyError is a dependency of Chart.yaml that cannot be rendered:
// missing from charts/, or a file:// repository that cannot be used.
type DependencyError struct {
	Chart string // the chart's directory in the repository
	Name  string // the dependency, "" when the error is about several
	Err   error
}

func (e *DependencyError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("chart %s: %v", e.Chart, e.Err)
	}
	return fmt.Sprintf("chart %s: dependency %s: %v", e.Chart, e.Name, e.Err)
}

func (e *DependencyError) Unwrap() error { return e.Err }

// resolveDependencies does what `helm dependency build` would do for the
// dependencies of c (loaded from dir) that are missing from charts/ and
// whose repository is file:// inside the repository: it loads the
// referenced chart directory and adds it, after checking its version
// against the constraint. Then, like `helm template`, it fails when a
// dependency is still missing (action.CheckDependencies), so a chart whose
// dependencies were never fetched does not render as nothing.
func resolveDependencies(ctx context.Context, tree fs.FS, dir string, c *chart.Chart, depth int) error {
	reqs := c.Metadata.Dependencies
	if len(reqs) == 0 {
		return nil
	}
	have := map[string]bool{}
	for _, d := range c.Dependencies() {
		have[d.Name()] = true
	}
	for _, r := range reqs {
		if r == nil || have[r.Name] || !strings.HasPrefix(r.Repository, "file://") {
			continue
		}
		if depth >= maxDepDepth {
			return &DependencyError{Chart: dir, Name: r.Name, Err: fmt.Errorf("file:// dependencies nest deeper than %d charts", maxDepDepth)}
		}
		sub, err := loadLocalDependency(ctx, tree, dir, r, depth+1)
		if err != nil {
			return err
		}
		c.AddDependency(sub)
		have[sub.Name()] = true
	}
	if err := action.CheckDependencies(c, reqs); err != nil {
		return &DependencyError{Chart: dir, Err: fmt.Errorf("%w (run helm dependency build and commit charts/, or use a file:// repository inside the repository)", err)}
	}
	return nil
}

// loadLocalDependency loads the chart a file:// repository names, relative
// to the chart directory and confined to the repository.
func loadLocalDependency(ctx context.Context, tree fs.FS, dir string, r *chart.Dependency, depth int) (*chart.Chart, error) {
	fail := func(err error) error { return &DependencyError{Chart: dir, Name: r.Name, Err: err} }
	rel := strings.TrimPrefix(r.Repository, "file://")
	if rel == "" || path.IsAbs(rel) {
		return nil, fail(fmt.Errorf("repository %q: a file:// dependency must be a path relative to the chart, inside the repository", r.Repository))
	}
	depDir := path.Join(dir, rel)
	if err := reconcile.CleanRepoPath(depDir); err != nil {
		return nil, fail(fmt.Errorf("repository %q: %w", r.Repository, err))
	}
	if err := reconcile.ResolveInTree(tree, depDir); err != nil {
		return nil, fail(fmt.Errorf("repository %q: %w", r.Repository, err))
	}
	sub, err := loadChartDepth(ctx, tree, depDir, depth)
	if err != nil {
		return nil, fail(err)
	}
	if r.Version != "" {
		constraint, err := semver.NewConstraint(r.Version)
		if err != nil {
			return nil, fail(fmt.Errorf("version constraint %q: %w", r.Version, err))
		}
		v, err := semver.NewVersion(sub.Metadata.Version)
		if err != nil {
			return nil, fail(fmt.Errorf("%s: version %q: %w", depDir, sub.Metadata.Version, err))
		}
		if !constraint.Check(v) {
			return nil, fail(fmt.Errorf("%s has version %s, which does not satisfy %s", depDir, sub.Metadata.Version, r.Version))
		}
	}
	return sub, nil
}
