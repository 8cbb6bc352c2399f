package main

import (
	"context"

	"github.com/stewardhq/steward/reconcile"
)

// generated is a revision's stack and units, generated and checked.
type generated struct {
	stack    *reconcile.Stack
	rendered []reconcile.Rendered
	problems reconcile.Errors // generator, conflict and check failures, all of them
	notes    []string         // objects no schema covers
}

// generate loads the stack of rev, generates the named units (all when
// names is empty) and checks them. An invalid stack or an unknown unit name
// is returned as err; everything else is collected in problems.
func (w *workspace) generate(ctx context.Context, rev *reconcile.Revision, names []string) (*generated, error) {
	stack, err := reconcile.LoadStack(rev.Tree)
	if err != nil {
		return nil, err
	}
	units, err := stack.Select(names)
	if err != nil {
		return nil, usageError("%v", err)
	}
	out := &generated{stack: stack, rendered: w.renderer().Render(ctx, rev, units)}
	for _, r := range out.rendered {
		if r.Err != nil {
			out.problems = append(out.problems, r.Err)
		}
	}
	if err := reconcile.Conflicts(out.rendered); err != nil {
		out.problems = append(out.problems, joined(err)...)
	}
	failures, notes := runChecks(ctx, stack, out.rendered)
	out.problems = append(out.problems, failures...)
	out.notes = notes
	return out, nil
}

// objects returns every generated object, unit by unit.
func (g *generated) objects() int {
	n := 0
	for _, r := range g.rendered {
		n += len(r.Objects)
	}
	return n
}
