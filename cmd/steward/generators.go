package main

import (
	"context"
	"fmt"

	"github.com/stewardhq/steward/generators/command"
	"github.com/stewardhq/steward/generators/helm"
	"github.com/stewardhq/steward/generators/jsonnet"
	"github.com/stewardhq/steward/generators/kustomize"
	"github.com/stewardhq/steward/generators/yaml"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/machine"
)

// generatorFor wires a unit's generator spec to its implementation.
func generatorFor(u *reconcile.Unit) (reconcile.Generator, error) {
	g := u.Generator
	switch {
	case g.YAML != nil:
		return yaml.New(g.YAML), nil
	case g.Kustomize != nil:
		return kustomize.New(g.Kustomize), nil
	case g.Helm != nil:
		return helm.New(g.Helm), nil
	case g.Jsonnet != nil:
		return jsonnet.New(g.Jsonnet), nil
	case g.Command != nil:
		return command.New(g.Command), nil
	}
	return nil, fmt.Errorf("unit %s has no generator", u.Name)
}

// postProcess inlines the repository files that machine File objects name
// with source:, so targets get self-contained objects.
func postProcess(_ context.Context, req reconcile.GenerateRequest, objs []*reconcile.Object) error {
	return machine.ResolveSources(objs, req.Tree, req.Dir)
}
