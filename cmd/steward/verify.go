package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/reconcile"
)

func newVerifyCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "CI: validate steward.yaml, generate every unit, run the checks, compare committed output",
		Long: `Validate steward.yaml, generate every unit, run the checks, and for each unit that declares
output: compare the generated objects with the committed files (a unified diff per file). Every problem is
printed, not just the first. Needs no network and no cluster. Exit 0 clean, 1 with a problem.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w, err := g.workspace()
			if err != nil {
				return err
			}
			rev, closer, err := w.workTree()
			if err != nil {
				return err
			}
			defer closer.Close()
			res, err := w.generate(cmd.Context(), rev, nil)
			if err != nil {
				var errs reconcile.Errors
				if errors.As(err, &errs) {
					printProblems(cmd.OutOrStdout(), errs)
					return silentExit(1)
				}
				return &exitError{code: 1, err: err}
			}
			problems := res.problems
			for _, r := range res.rendered {
				if r.Err != nil || r.Unit.Output == "" {
					continue
				}
				diffs, err := compareOutput(rev.Tree, r.Unit.Output, r.Objects)
				if err != nil {
					problems = append(problems, &reconcile.UnitError{Unit: r.Unit.Name, Err: err})
					continue
				}
				for _, d := range diffs {
					problems = append(problems, fmt.Errorf("unit %s: committed output differs from generated (steward build --update-outputs):\n%s", r.Unit.Name, d))
				}
			}
			out := cmd.OutOrStdout()
			for _, n := range res.notes {
				fmt.Fprintln(out, "unchecked:", n)
			}
			if len(problems) > 0 {
				printProblems(out, problems)
				return silentExit(1)
			}
			fmt.Fprintf(out, "ok: %d units, %d objects\n", len(res.rendered), res.objects())
			return nil
		},
	}
}
