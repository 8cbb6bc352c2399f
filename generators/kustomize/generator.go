package kustomize

import (
	"context"
	"fmt"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"

	"github.com/stewardhq/steward/reconcile"
)

// Generator builds a unit's kustomization in-process.
type Generator struct{}

var _ reconcile.Generator = (*Generator)(nil)

// New returns a Generator for spec; a nil spec means the defaults (the spec
// has no fields yet).
func New(spec *reconcile.KustomizeGenerator) *Generator {
	_ = spec
	return &Generator{}
}

// buildMu serialises builds: kustomize has shared state that is not safe for
// concurrent use (kubernetes-sigs/kustomize#3659, also guarded by Flux).
var buildMu sync.Mutex

// Generate checks the kustomization graph under req.Dir, then runs kustomize
// build over the tree.
func (g *Generator) Generate(ctx context.Context, req reconcile.GenerateRequest) ([]*reconcile.Object, error) {
	dir := req.Dir
	if dir == "" {
		dir = "."
	}
	if err := reconcile.ResolveInTree(req.Tree, dir); err != nil {
		return nil, fmt.Errorf("unit path: %w", err)
	}
	c := &checker{tree: req.Tree, visited: map[string]bool{}}
	if err := c.checkDir(dir); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := build(newTreeFS(req.Tree), abs(dir))
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	objs, err := reconcile.DecodeObjects(data, "kustomize build "+dir)
	if err != nil {
		return nil, err
	}
	if err := reconcile.CheckDuplicates(objs); err != nil {
		return nil, err
	}
	return objs, nil
}

// build runs krusty with builtin plugins only, no load restrictions within
// the (confined) file system, and kustomize's default ordering.
func build(fsys *treeFS, dir string) (out []byte, err error) {
	buildMu.Lock()
	defer buildMu.Unlock()
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
	m, err := k.Run(fsys, dir)
	if err != nil {
		return nil, err
	}
	return m.AsYaml()
}
