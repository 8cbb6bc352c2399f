package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/sources/git"
)

type diffFlags struct {
	base, head string
	format     string
	live       bool
	targets    targetFlags
}

func newDiffCommand(g *globalFlags) *cobra.Command {
	f := &diffFlags{}
	cmd := &cobra.Command{
		Use:   "diff (--base REV [--head REV] | --live) [UNIT...]",
		Short: "Compare the rendered objects of two revisions, or the working tree with the live targets",
		Long: `With --base: generate two revisions straight from git's object store (no checkout) and print, per
unit, the objects created, changed and deleted, with unified YAML diffs (Secret values masked). --format
markdown prints a pull-request comment. --head defaults to HEAD. Without any SOPS key, a unit that reads a
SOPS file is generated from the ciphertext in both revisions: unchanged when both give the same objects, else
printed as "not compared" with its files, and counted as a change. Exit 0 no change, 1 changes, 2 usage.

With --live: plan the working tree's units against the live targets (a server-side dry-run for Kubernetes,
a read of each host for machines) and print what would change; nothing is changed. Inputs get the outputs
recorded on the targets (examples fill in what is not recorded). Exit 0 in sync, 1 drift.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.live {
				if f.base != "" {
					return usageError("--live and --base exclude each other")
				}
				// The live targets are at hand: inputs get the outputs
				// recorded there, as a sync would, not the examples.
				live := liveOutputFlags{enabled: true, targets: f.targets}
				g.inputs = live.inputs(cmd.Context(), slog.New(slog.DiscardHandler))
				return runLiveDiff(cmd.Context(), g, &f.targets, args, cmd.OutOrStdout())
			}
			if f.base == "" {
				return usageError("diff needs --base REV or --live")
			}
			if f.format != "text" && f.format != "markdown" {
				return usageError("--format: want text or markdown, found %q", f.format)
			}
			return runRevisionDiff(cmd.Context(), g, f, args, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&f.base, "base", "", "base revision (branch, tag, SHA, HEAD~1...)")
	cmd.Flags().StringVar(&f.head, "head", "HEAD", "head revision")
	cmd.Flags().StringVar(&f.format, "format", "text", "output format: text or markdown")
	cmd.Flags().BoolVar(&f.live, "live", false, "compare with the live targets instead of another revision")
	f.targets.register(cmd.Flags())
	return cmd
}

func runRevisionDiff(ctx context.Context, g *globalFlags, f *diffFlags, names []string, out io.Writer) error {
	w, err := g.workspace()
	if err != nil {
		return err
	}
	repo, err := git.Open(ctx, w.root)
	if err != nil {
		return err
	}
	defer repo.Close()
	_, sub, err := gitTop(w.root)
	if err != nil {
		return err
	}
	revs := [2]*reconcile.Revision{}
	for i, rev := range []string{f.base, f.head} {
		tree, err := repo.Tree(ctx, rev)
		if err != nil {
			return usageError("%v", err)
		}
		if revs[i], err = reconcile.SubRevision(tree, sub); err != nil {
			return err
		}
	}
	// diff compares what generates: the checks are verify's and sync's.
	diffs, err := reconcile.DiffRevisions(ctx, revs[0], revs[1], names, reconcile.Stages{Renderer: w.renderer(), StackLimits: w.stackLimits, Packages: w.packages})
	var unknown *reconcile.UnknownUnitError
	if errors.As(err, &unknown) {
		return usageError("no unit named %q in either revision", unknown.Names)
	}
	if err != nil {
		return err
	}
	if f.format == "markdown" {
		reconcile.MarkdownDiff(out, revs[0].ID, revs[1].ID, diffs)
	} else {
		printTextDiff(out, diffs)
	}
	for _, d := range diffs {
		if d.Changed() {
			return silentExit(1)
		}
	}
	return nil
}

func summary(d reconcile.UnitDiff) string {
	return fmt.Sprintf("%d created, %d changed, %d deleted", d.Count(reconcile.Created), d.Count(reconcile.Configured), d.Count(reconcile.Deleted))
}

func printTextDiff(out io.Writer, diffs []reconcile.UnitDiff) {
	changed := 0
	for _, d := range diffs {
		if d.Err != nil {
			fmt.Fprintf(out, "unit %s (target %s): failed: %v\n", d.Unit, d.Target, d.Err)
			changed++
			continue
		}
		if len(d.NotCompared) > 0 {
			fmt.Fprintf(out, "unit %s (target %s): not compared: its SOPS files need a key (--sops-age-keys, --sops-pgp-keyring)\n", d.Unit, d.Target)
			for _, n := range d.NotCompared {
				fmt.Fprintf(out, "  %s\n", n)
			}
			changed++
			continue
		}
		if len(d.Changes) == 0 {
			continue
		}
		changed++
		fmt.Fprintf(out, "unit %s (target %s): %s\n", d.Unit, d.Target, summary(d))
		for _, c := range d.Changes {
			fmt.Fprintf(out, "%s %s\n%s", c.ID, c.Action, c.Diff)
		}
	}
	if changed == 0 {
		fmt.Fprintln(out, "no changes")
	}
}
