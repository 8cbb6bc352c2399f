package main

import (
	"errors"
	"fmt"
	"io"
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
repository cannot be reached), and a package whose content no longer matches the lock is a problem. Without
any SOPS key, a unit that reads a SOPS file is generated from the ciphertext and printed as "not checked:
FILE", with nothing of it counted as checked; given keys, a file none opens is a problem. Exit 0 clean (units
not checked are listed, and counted on the last line), 1 with a problem.`,
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
			for _, n := range run.gen.NotChecked {
				fmt.Fprintln(out, n)
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
			return printVerified(out, run.gen)
		},
	}
	live.register(cmd.Flags())
	return cmd
}

// printVerified prints verify's last line: what was checked and, apart,
// what was not.
func printVerified(w io.Writer, gen *reconcile.Generation) error {
	notChecked, objs := 0, 0
	for _, r := range gen.Units {
		if len(r.Undecrypted) > 0 {
			notChecked++
			continue
		}
		objs += len(r.Objects)
	}
	if notChecked == 0 {
		_, err := fmt.Fprintf(w, "ok: %d units, %d objects\n", len(gen.Units), objs)
		return err
	}
	_, err := fmt.Fprintf(w, "ok: %d units, %d objects checked; %d units NOT checked: their SOPS files need a key (--sops-age-keys, --sops-pgp-keyring)\n",
		len(gen.Units)-notChecked, objs, notChecked)
	return err
}
