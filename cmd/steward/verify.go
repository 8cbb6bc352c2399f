package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/images"
)

func newVerifyCommand(g *globalFlags) *cobra.Command {
	live := &liveOutputFlags{}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "CI: validate steward.yaml, generate every unit, run the checks, compare committed output",
		Long: `Validate steward.yaml, generate every unit, run the checks, and for each unit that declares
output: compare the generated objects with the committed files (a unified diff per file, sensitive values
masked). Every problem is printed, not just the first. Needs no cluster; package units are read at their
steward.lock versions (one ref advertisement per package repository, or from the local clone when the
repository cannot be reached), and a package whose content no longer matches the lock is a problem. Exit 0
clean, 1 with a problem.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			g.inputs = live.inputs(cmd.Context(), slog.New(slog.DiscardHandler))
			run, err := g.generateWorkTree(cmd.Context(), nil)
			if err != nil {
				var errs reconcile.Errors
				var ee *exitError
				switch {
				case errors.As(err, &errs):
					return failOnProblems(out, errs)
				case errors.As(err, &ee):
					return err
				}
				return &exitError{code: 1, err: err}
			}
			defer run.close()
			for _, n := range run.gen.Unchecked {
				fmt.Fprintln(out, "unchecked:", n)
			}
			for _, e := range run.gen.Examples {
				fmt.Fprintln(out, "example:", e)
			}
			for _, r := range run.gen.Units {
				if p := r.Unit.ResolvedPackage(); p != nil {
					fmt.Fprintf(out, "package: unit %s: %s %s (%s)\n", r.Unit.Name, p.Manifest.Name, p.Version, reconcile.ShortRevision(p.Revision.ID, reconcile.RevisionWidth))
				}
			}
			problems := append(run.gen.Problems, run.gen.CompareOutputs()...)
			markers, warns, err := images.FindInTree(run.rev.Tree, images.MarkerDirs(run.gen.Stack))
			if err != nil {
				problems = append(problems, err)
			}
			for _, w := range warns {
				fmt.Fprintln(out, "warning:", w)
			}
			if err := images.CheckMarkers(run.gen.Stack, markers); err != nil {
				problems = append(problems, reconcile.Split(err)...)
			}
			if err := failOnProblems(out, problems); err != nil {
				return err
			}
			fmt.Fprintf(out, "ok: %d units, %d objects\n", len(run.gen.Units), run.gen.Objects())
			return nil
		},
	}
	live.register(cmd.Flags())
	return cmd
}
