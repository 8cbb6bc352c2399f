package checks

import (
	"context"
	"errors"

	"github.com/stewardhq/steward/reconcile"
)

// Stage is the checks stage of one stack revision as the engine consumes it:
// the stack's rules compiled once, run over each generation of it.
type Stage struct {
	checker *Checker
	// machine names the units whose target applies machine kinds.
	machine map[string]bool
}

var _ reconcile.Checker = (*Stage)(nil)

// NewStage compiles the checks of stack.
func NewStage(stack *reconcile.Stack, opts Options) (*Stage, error) {
	c, err := New(stack.Checks, opts)
	if err != nil {
		return nil, err
	}
	machine := map[string]bool{}
	for _, u := range stack.Units {
		if t, ok := stack.Targets[u.Target]; ok && (t.Machines != nil || t.Local != nil) {
			machine[u.Name] = true
		}
	}
	return &Stage{checker: c, machine: machine}, nil
}

// For returns the reconcile.CheckerFor that builds a Stage per stack with
// opts.
func For(opts Options) reconcile.CheckerFor {
	return func(stack *reconcile.Stack) (reconcile.Checker, error) {
		return NewStage(stack, opts)
	}
}

// Check validates the objects of the rendered units and runs the rules: each
// failure is one error of the report, and the objects no schema covers are
// its unchecked notes.
func (s *Stage) Check(ctx context.Context, rendered []reconcile.Rendered) (*reconcile.CheckReport, error) {
	units := make([]UnitObjects, 0, len(rendered))
	for _, r := range rendered {
		if r.Err == nil {
			units = append(units, UnitObjects{Unit: r.Unit.Name, Objects: r.Objects, Machine: s.machine[r.Unit.Name]})
		}
	}
	rep, err := s.checker.Check(ctx, units)
	if err != nil {
		return nil, err
	}
	out := &reconcile.CheckReport{Unchecked: make([]string, len(rep.Unchecked))}
	for _, f := range rep.Failures {
		out.Failures = append(out.Failures, errors.New(f.String()))
	}
	for i, u := range rep.Unchecked {
		out.Unchecked[i] = u.String()
	}
	return out, nil
}
