package main

import (
	"context"
	"errors"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/checks"
	"github.com/stewardhq/steward/targets/machine"
)

// runChecks runs the checks stage over the units that generated: schema
// validation of Kubernetes objects and machine kinds, and the stack's CEL
// rules. It returns the failures and, as notes, the objects no schema covers.
func runChecks(ctx context.Context, stack *reconcile.Stack, rendered []reconcile.Rendered) (reconcile.Errors, []string) {
	opts := checks.DefaultOptions()
	opts.ValidateMachine = machine.Validate
	c, err := checks.New(stack.Checks, opts)
	if err != nil {
		return joined(err), nil
	}
	units := make([]checks.UnitObjects, 0, len(rendered))
	for _, r := range rendered {
		if r.Err == nil {
			units = append(units, checks.UnitObjects{Unit: r.Unit.Name, Objects: r.Objects})
		}
	}
	report, err := c.Check(ctx, units)
	if err != nil {
		return reconcile.Errors{err}, nil
	}
	var problems reconcile.Errors
	for _, f := range report.Failures {
		problems = append(problems, errors.New(f.String()))
	}
	notes := make([]string, len(report.Unchecked))
	for i, u := range report.Unchecked {
		notes[i] = u.String()
	}
	return problems, notes
}

// joined splits an errors.Join (or reconcile.Errors) into its errors.
func joined(err error) reconcile.Errors {
	if m, ok := err.(interface{ Unwrap() []error }); ok {
		return reconcile.Errors(m.Unwrap())
	}
	return reconcile.Errors{err}
}
