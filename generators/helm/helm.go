package helm

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"

	"github.com/stewardhq/steward/generators/internal/sandbox"
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
	opts Options
}

var _ reconcile.Generator = (*Generator)(nil)

// Options configure a Generator.
type Options struct {
	// MaxOutput is the largest rendered output accepted, in bytes (the
	// manifests and hooks together).
	MaxOutput int64
	// Isolate renders in a child process whose memory is limited to
	// MaxMemory bytes, so a chart whose templates blow up (a string doubled
	// forty times, range until 300000000) fails its unit instead of killing
	// steward. Errors then keep their text, file and line, not their type.
	Isolate   bool
	MaxMemory int64
}

// DefaultOptions render in process with a 64 MiB output cap, and allow
// 2 GiB of memory when isolated.
func DefaultOptions() Options {
	return Options{MaxOutput: sandbox.DefaultLimits().MaxOutput, MaxMemory: sandbox.DefaultLimits().MaxMemory}
}

// New returns a generator for spec with DefaultOptions. A nil spec renders
// the chart in the unit directory with its default values.
func New(spec *reconcile.HelmGenerator) *Generator {
	return NewWithOptions(spec, DefaultOptions())
}

// NewWithOptions returns a generator for spec with opts.
func NewWithOptions(spec *reconcile.HelmGenerator, opts Options) *Generator {
	g := &Generator{opts: opts}
	if spec != nil {
		g.spec = *spec
	}
	return g
}

const sandboxKind = "helm"

func init() {
	// In a sandbox child started for helm, render there and exit.
	sandbox.Serve(sandboxKind, func(spec json.RawMessage, maxOutput int64) (reconcile.Generator, error) {
		var s reconcile.HelmGenerator
		if err := json.Unmarshal(spec, &s); err != nil {
			return nil, err
		}
		opts := DefaultOptions()
		opts.MaxOutput = maxOutput
		return NewWithOptions(&s, opts), nil
	})
}

// Generate renders the chart of req.Unit and returns its objects sorted.
func (g *Generator) Generate(ctx context.Context, req reconcile.GenerateRequest) ([]*reconcile.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if g.opts.Isolate {
		return sandbox.Run(ctx, sandboxKind, g.spec, req, sandbox.Limits{MaxMemory: g.opts.MaxMemory, MaxOutput: g.opts.MaxOutput})
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
	if n := releaseSize(rel); g.opts.MaxOutput > 0 && n > g.opts.MaxOutput {
		return nil, fmt.Errorf("render chart %s: output of %d bytes exceeds %d", chartDir, n, g.opts.MaxOutput)
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

// releaseSize is the bytes of the rendered manifests and hooks.
func releaseSize(rel *release.Release) int64 {
	n := int64(len(rel.Manifest))
	for _, h := range rel.Hooks {
		n += int64(len(h.Manifest))
	}
	return n
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
