package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/stewardhq/steward/reconcile"
)

// runLiveDiff plans the working tree's units against the live targets and
// prints what would change. Planning changes nothing.
func runLiveDiff(ctx context.Context, g *globalFlags, tf *targetFlags, names []string, out io.Writer) error {
	run, err := g.generateWorkTree(ctx, names)
	if err != nil {
		return err
	}
	defer run.close()
	if err := failOnProblems(out, run.gen.Problems); err != nil {
		return err
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	resolve := tf.resolver(wd, run.w.logger)
	resolved := map[string]reconcile.Target{} // one per target, closed at the end
	defer func() {
		for _, t := range resolved {
			if c, ok := t.(io.Closer); ok {
				_ = c.Close()
			}
		}
	}()
	drift, failed := false, false
	for _, r := range run.gen.Units {
		var err error
		t, ok := resolved[r.Unit.Target]
		if !ok {
			t, err = resolve(ctx, r.Unit.Target, run.gen.Stack.Targets[r.Unit.Target])
			if err == nil {
				resolved[r.Unit.Target] = t
			}
		}
		if err == nil {
			var plan *reconcile.Plan
			if plan, err = t.Plan(ctx, reconcile.ApplyRequest{Unit: r.Unit, Objects: r.Objects}); err == nil {
				drift = printPlan(out, r.Unit, plan) || drift
				continue
			}
		}
		fmt.Fprintf(out, "unit %s (target %s): plan failed: %v\n", r.Unit.Name, r.Unit.Target, err)
		failed = true
	}
	if !drift && !failed {
		fmt.Fprintln(out, "in sync")
	}
	if drift || failed {
		return silentExit(1)
	}
	return nil
}

// printPlan prints a unit's planned changes with their diffs and reports
// whether anything would change.
func printPlan(out io.Writer, u *reconcile.Unit, plan *reconcile.Plan) bool {
	changed := plan.HasChanges()
	failed := false
	for _, c := range plan.Changes {
		failed = failed || c.Action == reconcile.Failed
	}
	if !changed && !failed {
		return false
	}
	fmt.Fprintf(out, "unit %s (target %s): %s\n", u.Name, u.Target, countSummary(plan.Changes))
	for _, c := range plan.Changes {
		if c.Action == reconcile.Unchanged {
			continue
		}
		fmt.Fprintf(out, "  %s\n", c)
		if c.Diff != "" {
			fmt.Fprint(out, c.Diff)
		}
	}
	return true
}
