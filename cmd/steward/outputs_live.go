package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/pflag"

	"github.com/stewardhq/steward/reconcile"
)

// liveOutputFlags let the verbs that generate offline (build, verify) read
// the outputs recorded on the targets instead of the examples, when the
// credentials are at hand.
type liveOutputFlags struct {
	enabled bool
	targets targetFlags
}

func (f *liveOutputFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.enabled, "outputs-from-live", false, "give inputs the outputs recorded on the targets (credentials as for sync); examples fill in what is not recorded")
	f.targets.register(fs)
}

// inputs returns the input resolver of the run, nil for examples only.
func (f *liveOutputFlags) inputs(ctx context.Context, logger *slog.Logger) func(*reconcile.Stack) reconcile.InputResolver {
	if !f.enabled {
		return nil
	}
	wd, err := os.Getwd()
	if err != nil {
		wd = "."
	}
	resolve := f.targets.resolver(wd, logger)
	return func(stack *reconcile.Stack) reconcile.InputResolver {
		live := func(unit string) (map[string]reconcile.OutputValue, error) {
			u := stack.Unit(unit)
			if u == nil {
				return nil, nil
			}
			t, err := resolve(ctx, u.Target, stack.Targets[u.Target])
			if err != nil {
				return nil, err
			}
			st, ok := t.(reconcile.OutputStore)
			if !ok {
				return nil, fmt.Errorf("target %s: %w", u.Target, reconcile.ErrNoOutputStore)
			}
			return st.ReadOutputs(ctx, unit)
		}
		return reconcile.ResolveInputs(stack, live, true)
	}
}
