package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/stewardhq/steward/generators/command"
	"github.com/stewardhq/steward/generators/helm"
	"github.com/stewardhq/steward/generators/jsonnet"
	"github.com/stewardhq/steward/generators/kustomize"
	"github.com/stewardhq/steward/generators/yaml"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/machine"
)

// generatorFlags bound what one unit's generation may cost: its time (every
// generator) and, isolated, the memory of the in-process template engines
// (helm, jsonnet, kustomize), which then run in a child process of steward.
type generatorFlags struct {
	timeout time.Duration
	memory  string
	isolate bool
}

func (f *generatorFlags) register(fs *pflag.FlagSet) {
	fs.DurationVar(&f.timeout, "generate-timeout", reconcile.DefaultGenerateTimeout, "fail a unit whose generation takes longer than this")
	fs.StringVar(&f.memory, "generator-memory", defaultGeneratorMemory, "memory (data segment) of an isolated helm, jsonnet or kustomize generation, e.g. 512Mi")
	// Isolation is on for every verb: a revision that blows up a template
	// must not take the daemon down, and verify or diff run on a pull
	// request then fail with the unit's name instead of a Go fatal error.
	// A race build cannot isolate (the detector's shadow memory does not fit
	// under RLIMIT_DATA).
	fs.BoolVar(&f.isolate, "isolate-generators", !raceBuild, "run helm, jsonnet and kustomize in a child process under --generator-memory")
}

// defaultGeneratorMemory is --generator-memory's default (the sandbox's).
const defaultGeneratorMemory = "2Gi"

// generators returns the GeneratorFor the flags describe; zero flags mean
// their defaults, isolation off.
func (f *generatorFlags) generators() (reconcile.GeneratorFor, error) {
	memory := f.memory
	if memory == "" {
		memory = defaultGeneratorMemory
	}
	q, err := resource.ParseQuantity(memory)
	if err != nil || q.Value() < 16<<20 {
		return nil, usageError("--generator-memory: want a size of at least 16Mi (512Mi, 2Gi), found %q", f.memory)
	}
	mem := q.Value()
	return func(u *reconcile.Unit) (reconcile.Generator, error) {
		g := u.Generator
		switch {
		case g.YAML != nil:
			return yaml.New(g.YAML), nil
		case g.Kustomize != nil:
			opts := kustomize.DefaultOptions()
			opts.Isolate, opts.MaxMemory = f.isolate, mem
			return kustomize.NewWithOptions(g.Kustomize, opts), nil
		case g.Helm != nil:
			opts := helm.DefaultOptions()
			opts.Isolate, opts.MaxMemory = f.isolate, mem
			return helm.NewWithOptions(g.Helm, opts), nil
		case g.Jsonnet != nil:
			opts := jsonnet.DefaultOptions()
			opts.Isolate, opts.MaxMemory = f.isolate, mem
			return jsonnet.NewWithOptions(g.Jsonnet, opts), nil
		case g.Command != nil:
			return command.New(g.Command), nil
		}
		return nil, fmt.Errorf("unit %s has no generator", u.Name)
	}, nil
}

// postProcess inlines the repository files that machine File objects name
// with source:, so targets get self-contained objects.
func postProcess(_ context.Context, req reconcile.GenerateRequest, objs []*reconcile.Object) error {
	return machine.ResolveSources(objs, req.Tree, req.Dir)
}
