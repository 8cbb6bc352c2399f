package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/checks"
	"github.com/stewardhq/steward/targets/machine"
)

// stages wires steward's generators and checks into the engine's one
// pipeline (reconcile.Generate), shared by every verb and the daemon.
func (w *workspace) stages() reconcile.Stages {
	opts := checks.DefaultOptions()
	opts.ValidateMachine = machine.Validate
	st := reconcile.Stages{Renderer: w.renderer(), Checks: checks.For(opts), StackLimits: w.stackLimits, StackIdentity: w.stackIdentity()}
	if w.packages != nil {
		st.Packages = w.packages
	}
	return st
}

// workTreeRun is a working-tree verb's generated revision.
type workTreeRun struct {
	w     *workspace
	rev   *reconcile.Revision
	gen   *reconcile.Generation
	close func() error
}

// generateWorkTree is the preamble of the working-tree verbs (build, verify,
// diff --live): open the workspace, read the working tree, and generate and
// check the named units (all when none are named). An unknown unit name is
// a usage error. The caller closes the run.
func (g *globalFlags) generateWorkTree(ctx context.Context, names []string) (*workTreeRun, error) {
	w, err := g.workspace()
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(w.root)
	if err != nil {
		return nil, fmt.Errorf("open repository: %w", err)
	}
	rev := &reconcile.Revision{Tree: root.FS(), Dir: w.root}
	st := w.stages()
	st.Inputs = g.inputs
	gen, err := reconcile.Generate(ctx, rev, names, st)
	if err != nil {
		root.Close()
		var unknown *reconcile.UnknownUnitError
		if errors.As(err, &unknown) {
			return nil, usageError("%v", err)
		}
		return nil, err
	}
	return &workTreeRun{w: w, rev: rev, gen: gen, close: root.Close}, nil
}

// failOnProblems prints every problem and a count, and returns exit 1, or
// nil when there are none.
func failOnProblems(w io.Writer, problems []error) error {
	if len(problems) == 0 {
		return nil
	}
	printProblems(w, problems)
	return silentExit(1)
}

func printProblems(w io.Writer, problems []error) {
	for _, p := range problems {
		fmt.Fprintln(w, p)
	}
	s := "s"
	if len(problems) == 1 {
		s = ""
	}
	fmt.Fprintf(w, "%d problem%s\n", len(problems), s)
}
