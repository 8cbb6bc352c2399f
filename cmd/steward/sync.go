package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/reconcile"
)

func newSyncCommand(g *globalFlags) *cobra.Command {
	tf, sf := &targetFlags{}, &sourceFlags{}
	var allowMassPrune bool
	cmd := &cobra.Command{
		Use:   "sync [UNIT...]",
		Short: "One pass: pull, generate, check, apply, report",
		Long: `Pull the repository (its own clone of --repo, or of the repository steward runs in), generate and
check the revision, and apply the named units (all when none are named, and always what they depend on) in
dependency order. A revision that fails generation or checks is not applied. Exit 0 ok, 1 failure.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := g.workspace()
			if err != nil {
				return err
			}
			r, err := newReconciler(w, g, sf, tf, reconcile.DefaultReconcilerOptions())
			if err != nil {
				return err
			}
			defer r.Close()
			res, err := r.Pass(cmd.Context(), reconcile.PassRequest{Units: args, Manual: true, AllowMassPrune: allowMassPrune})
			out := cmd.OutOrStdout()
			if res != nil && res.Refused != nil {
				fmt.Fprintf(out, "revision refused: %v\n", res.Refused)
			}
			var unknown *reconcile.UnknownUnitError
			if errors.As(err, &unknown) {
				return usageError("%v", err)
			}
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			ok := res.Refused == nil
			for _, ev := range res.Events {
				printUnitEvent(out, ev)
				ok = ok && ev.State == reconcile.StateReady
			}
			for _, rm := range res.Removed {
				fmt.Fprintln(out, rm.String())
				ok = ok && rm.Err == nil
			}
			if !ok {
				return silentExit(1)
			}
			return nil
		},
	}
	tf.register(cmd.Flags())
	sf.register(cmd.Flags())
	cmd.Flags().BoolVar(&allowMassPrune, "allow-mass-prune", false, "let units delete all their objects, or more than their pruneLimit, in this sync")
	return cmd
}

// printUnitEvent prints one unit's result and every change that is not
// "unchanged".
func printUnitEvent(out io.Writer, ev reconcile.UnitEvent) {
	fmt.Fprintf(out, "unit %s (target %s) at %s: %s", ev.Unit.Name, ev.Unit.Target, reconcile.ShortRevision(ev.Revision, reconcile.RevisionWidth), ev.State)
	if cs := ev.ChangeSet; cs != nil {
		fmt.Fprintf(out, " — %s", countSummary(cs.Changes))
	}
	switch {
	case ev.Err != nil:
		fmt.Fprintf(out, ": %v", ev.Err)
	case ev.Reason != "":
		fmt.Fprintf(out, " (%s)", ev.Reason)
	}
	fmt.Fprintln(out)
	if ev.Release != "" {
		fmt.Fprintf(out, "  release: %s\n", ev.Release)
	}
	if ev.ChangeSet == nil {
		return
	}
	for _, c := range ev.ChangeSet.Changes {
		if c.Action != reconcile.Unchanged {
			fmt.Fprintf(out, "  %s\n", c)
		}
	}
}

// countSummary renders "2 created, 1 configured, 5 unchanged".
func countSummary(changes []reconcile.Change) string {
	order := []reconcile.Action{reconcile.Created, reconcile.Configured, reconcile.Deleted, reconcile.Unchanged, reconcile.Skipped, reconcile.Failed}
	counts := map[reconcile.Action]int{}
	for _, c := range changes {
		counts[c.Action]++
	}
	var parts []string
	for _, a := range order {
		if counts[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[a], a))
		}
	}
	if len(parts) == 0 {
		return "no objects"
	}
	return strings.Join(parts, ", ")
}
