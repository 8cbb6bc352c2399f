package helm

import (
	"context"
	"fmt"
	"path"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"

	"github.com/stewardhq/steward/reconcile"
)

// DefaultKubeVersion is the Kubernetes version a chart sees when the unit
// does not set one.
const DefaultKubeVersion = "1.37.0"

// DefaultNamespace is the release namespace of a unit without a namespace.
const DefaultNamespace = "default"

// Generator renders one unit's local chart.
type Generator struct {
	spec reconcile.HelmGenerator
}

var _ reconcile.Generator = (*Generator)(nil)

// New returns a generator for spec. A nil spec renders the chart in the unit
// directory with its default values.
func New(spec *reconcile.HelmGenerator) *Generator {
	g := &Generator{}
	if spec != nil {
		g.spec = *spec
	}
	return g
}

// Generate renders the chart of req.Unit and returns its objects sorted.
func (g *Generator) Generate(ctx context.Context, req reconcile.GenerateRequest) ([]*reconcile.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if req.Tree == nil {
		return nil, fmt.Errorf("helm: no tree to read the chart from")
	}
	chartDir, err := g.chartDir(req)
	if err != nil {
		return nil, err
	}
	chrt, err := loadChart(ctx, req.Tree, chartDir)
	if err != nil {
		return nil, err
	}
	vals, err := g.values(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	inst, err := g.install(req)
	if err != nil {
		return nil, err
	}
	rel, err := inst.RunWithContext(ctx, chrt, vals)
	if err != nil {
		return nil, fmt.Errorf("render chart %s: %w", chartDir, err)
	}
	return decodeRelease(rel, chartDir)
}

// chartDir is the chart's directory within the tree.
func (g *Generator) chartDir(req reconcile.GenerateRequest) (string, error) {
	c := g.spec.Chart
	if c == "" {
		c = "."
	}
	if path.IsAbs(c) {
		return "", fmt.Errorf("chart %q: absolute; it is relative to the unit path", c)
	}
	dir := path.Join(req.Dir, c)
	if err := reconcile.ResolveInTree(req.Tree, dir); err != nil {
		return "", fmt.Errorf("chart %q: %w", c, err)
	}
	return dir, nil
}

// install configures a client-only dry-run install, as helm template does.
func (g *Generator) install(req reconcile.GenerateRequest) (*action.Install, error) {
	cfg := &action.Configuration{Log: func(string, ...any) {}}
	inst := action.NewInstall(cfg)
	inst.DryRun = true
	inst.DryRunOption = "client"
	inst.ClientOnly = true
	inst.Replace = true
	inst.IncludeCRDs = g.spec.IncludeCRDs == nil || *g.spec.IncludeCRDs
	inst.ReleaseName = g.spec.ReleaseName
	if inst.ReleaseName == "" && req.Unit != nil {
		inst.ReleaseName = req.Unit.Name
	}
	inst.Namespace = releaseNamespace(req)
	kv := g.spec.KubeVersion
	if kv == "" {
		kv = DefaultKubeVersion
	}
	parsed, err := chartutil.ParseKubeVersion(kv)
	if err != nil {
		return nil, fmt.Errorf("kubeVersion %q: %w", kv, err)
	}
	inst.KubeVersion = parsed
	inst.APIVersions = chartutil.VersionSet(g.spec.APIVersions)
	return inst, nil
}

// releaseNamespace is the unit's namespace, else its target's, else
// DefaultNamespace.
func releaseNamespace(req reconcile.GenerateRequest) string {
	switch {
	case req.Namespace != "":
		return req.Namespace
	case req.Unit != nil && req.Unit.Namespace != "":
		return req.Unit.Namespace
	}
	return DefaultNamespace
}

// decodeRelease turns the rendered manifests and the non-test hooks into
// objects.
func decodeRelease(rel *release.Release, chartDir string) ([]*reconcile.Object, error) {
	var objs []*reconcile.Object
	add := func(src, content string) error {
		got, err := reconcile.DecodeObjects([]byte(content), repoFile(chartDir, src))
		if err != nil {
			return err
		}
		objs = append(objs, got...)
		return nil
	}
	for _, s := range splitManifest(rel.Manifest) {
		if err := add(s.Source, s.Content); err != nil {
			return nil, err
		}
	}
	for _, h := range rel.Hooks {
		if isTestHook(h) {
			continue
		}
		if err := add(h.Path, h.Manifest); err != nil {
			return nil, err
		}
	}
	if err := reconcile.CheckDuplicates(objs); err != nil {
		return nil, err
	}
	reconcile.SortObjects(objs)
	return objs, nil
}

func isTestHook(h *release.Hook) bool {
	for _, e := range h.Events {
		if e == release.HookTest {
			return true
		}
	}
	return false
}

// repoFile maps a rendered source name (chartname/templates/x.yaml) to the
// repository file it came from (chartDir/templates/x.yaml).
func repoFile(chartDir, source string) string {
	if source == "" {
		return chartDir
	}
	_, rest, ok := strings.Cut(source, "/")
	if !ok {
		return path.Join(chartDir, source)
	}
	return path.Join(chartDir, rest)
}
