package kustomize

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/stewardhq/steward/generators/internal/sandbox"
	"github.com/stewardhq/steward/reconcile"
)

// Generator builds a unit's kustomization in-process, or in a child process
// with Options.Isolate.
type Generator struct{ opts Options }

var _ reconcile.Generator = (*Generator)(nil)

// Options configure a Generator.
type Options struct {
	// Isolate builds in a child process whose memory is limited to
	// MaxMemory bytes (see generators/internal/sandbox), so a
	// kustomization that would take all of steward's memory fails its
	// unit instead. Its output is then capped at MaxOutput bytes.
	Isolate   bool
	MaxMemory int64
	MaxOutput int64
}

// DefaultOptions build in process; isolated, with the sandbox's default
// limits.
func DefaultOptions() Options {
	return Options{MaxMemory: sandbox.DefaultLimits().MaxMemory, MaxOutput: sandbox.DefaultLimits().MaxOutput}
}

// New returns a Generator for spec with DefaultOptions; a nil spec means the
// defaults (the spec has no fields yet).
func New(spec *reconcile.KustomizeGenerator) *Generator {
	return NewWithOptions(spec, DefaultOptions())
}

// NewWithOptions returns a Generator for spec with opts.
func NewWithOptions(spec *reconcile.KustomizeGenerator, opts Options) *Generator {
	_ = spec
	return &Generator{opts: opts}
}

const sandboxKind = "kustomize"

func init() {
	// In a sandbox child started for kustomize, build there and exit.
	sandbox.Serve(sandboxKind, func(json.RawMessage, int64) (reconcile.Generator, error) {
		return New(nil), nil
	})
}

// buildMu serialises builds: kustomize has shared state that is not safe for
// concurrent use (kubernetes-sigs/kustomize#3659, also guarded by Flux).
var buildMu sync.Mutex

// Generate checks the kustomization graph under req.Dir, then runs kustomize
// build over the tree.
func (g *Generator) Generate(ctx context.Context, req reconcile.GenerateRequest) ([]*reconcile.Object, error) {
	if g.opts.Isolate {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return sandbox.Run(ctx, sandboxKind, reconcile.KustomizeGenerator{}, req, sandbox.Limits{MaxMemory: g.opts.MaxMemory, MaxOutput: g.opts.MaxOutput})
	}
	dir := req.Dir
	if dir == "" {
		dir = "."
	}
	req.Tree = withInputs(req.Tree, dir, req.Inputs)
	if err := reconcile.ResolveInTree(req.Tree, dir); err != nil {
		return nil, fmt.Errorf("unit path: %w", err)
	}
	// A package's parameters are a generated component (params.go).
	tree, err := withParams(req.Tree, dir, req.Params)
	if err != nil {
		return nil, fmt.Errorf("parameters: %w", err)
	}
	req.Tree = tree
	c := &checker{tree: req.Tree, visited: map[string]bool{}}
	if err := c.checkDir(dir); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	logger := req.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logWarnings(logger, c.warnings)
	fsys := newTreeFS(req.Tree)
	m, err := build(fsys, abs(dir), logger, len(c.warnings) > 0)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	objs, err := decodeResources(m, dir, func(i int) string {
		kustFile, err := findKustomization(req.Tree, dir)
		if err != nil {
			return dir
		}
		return originOf(fsys, dir, kustFile, i, logger)
	})
	if err != nil {
		return nil, err
	}
	if err := reconcile.CheckDuplicates(objs); err != nil {
		return nil, err
	}
	return objs, nil
}

// build runs krusty with builtin plugins only, no load restrictions within
// the (confined) file system, and kustomize's default ordering. What
// kustomize prints goes to logger (captureOutput; swapStderr when a
// kustomization uses a deprecated field).
func build(fsys *treeFS, dir string, logger *slog.Logger, swapStderr bool) (out resmap.ResMap, err error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	err = captureOutput(logger, swapStderr, func() error {
		out, err = run(fsys, dir)
		return err
	})
	return out, err
}

func run(fsys *treeFS, dir string) (out resmap.ResMap, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kustomize panicked: %v", r)
		}
	}()
	k := krusty.MakeKustomizer(&krusty.Options{
		Reorder:          krusty.ReorderOptionUnspecified,
		LoadRestrictions: types.LoadRestrictionsNone,
		PluginConfig:     types.DisabledPluginConfig(),
	})
	return k.Run(fsys, dir)
}
