package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/sources/git"
)

// maxMarkdownDiffLines truncates each unit's diff in a pull-request comment.
const maxMarkdownDiffLines = 300

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
markdown prints a pull-request comment. --head defaults to HEAD. Exit 0 no change, 1 changes, 2 usage.

With --live: plan the working tree's units against the live targets (a server-side dry-run for Kubernetes,
a read of each host for machines) and print what would change; nothing is changed. Exit 0 in sync, 1 drift.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.live {
				if f.base != "" {
					return usageError("--live and --base exclude each other")
				}
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

// unitDiff is what changed in one unit between two revisions.
type unitDiff struct {
	unit, target string
	changes      []reconcile.ObjectChange
	err          error
}

func (d unitDiff) count(a reconcile.Action) int {
	n := 0
	for _, c := range d.changes {
		if c.Action == a {
			n++
		}
	}
	return n
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
	_, sub, err := gitTop(w.root)
	if err != nil {
		return err
	}
	revs := [2]*reconcile.Revision{}
	for i, rev := range []string{f.base, f.head} {
		if revs[i], err = repo.Tree(ctx, rev); err != nil {
			return usageError("%v", err)
		}
		if sub != "." {
			if revs[i].Tree, err = fs.Sub(revs[i].Tree, sub); err != nil {
				return err
			}
		}
	}
	sides := [2]map[string]reconcile.Rendered{}
	var stacks [2]*reconcile.Stack
	for i, rev := range revs {
		stack, err := reconcile.LoadStack(rev.Tree)
		if err != nil {
			return fmt.Errorf("revision %s: %w", short(rev.ID), err)
		}
		stacks[i] = stack
		units := selectPresent(stack, names)
		sides[i] = map[string]reconcile.Rendered{}
		for _, r := range w.renderer().Render(ctx, rev, units) {
			sides[i][r.Unit.Name] = r
		}
	}
	for _, n := range names {
		if stacks[0].Unit(n) == nil && stacks[1].Unit(n) == nil {
			return usageError("no unit named %q in either revision", n)
		}
	}
	diffs, err := compareRevisions(stacks, sides)
	if err != nil {
		return err
	}
	if f.format == "markdown" {
		printMarkdownDiff(out, revs, diffs)
	} else {
		printTextDiff(out, diffs)
	}
	for _, d := range diffs {
		if d.err != nil || len(d.changes) > 0 {
			return silentExit(1)
		}
	}
	return nil
}

// selectPresent returns the named units that exist in stack (all when names
// is empty): a unit may exist in only one of two revisions.
func selectPresent(stack *reconcile.Stack, names []string) []*reconcile.Unit {
	all, _ := stack.Select(nil)
	if len(names) == 0 {
		return all
	}
	var out []*reconcile.Unit
	for _, u := range all {
		if slices.Contains(names, u.Name) {
			out = append(out, u)
		}
	}
	return out
}

func compareRevisions(stacks [2]*reconcile.Stack, sides [2]map[string]reconcile.Rendered) ([]unitDiff, error) {
	var names []string
	for _, s := range stacks {
		for _, u := range s.Units {
			if !slices.Contains(names, u.Name) {
				if _, ok := sides[0][u.Name]; ok {
					names = append(names, u.Name)
				} else if _, ok := sides[1][u.Name]; ok {
					names = append(names, u.Name)
				}
			}
		}
	}
	var out []unitDiff
	for _, name := range names {
		base, head := sides[0][name], sides[1][name]
		d := unitDiff{unit: name}
		if head.Unit != nil {
			d.target = head.Unit.Target
		} else {
			d.target = base.Unit.Target
		}
		switch {
		case head.Err != nil:
			d.err = fmt.Errorf("head: %w", head.Err)
		case base.Err != nil:
			d.err = fmt.Errorf("base: %w", base.Err)
		default:
			changes, err := reconcile.CompareObjects(base.Objects, head.Objects)
			if err != nil {
				return nil, err
			}
			d.changes = changes
		}
		out = append(out, d)
	}
	return out, nil
}

func summary(d unitDiff) string {
	return fmt.Sprintf("%d created, %d changed, %d deleted", d.count(reconcile.Created), d.count(reconcile.Configured), d.count(reconcile.Deleted))
}

func printTextDiff(out io.Writer, diffs []unitDiff) {
	changed := 0
	for _, d := range diffs {
		if d.err != nil {
			fmt.Fprintf(out, "unit %s (target %s): failed: %v\n", d.unit, d.target, d.err)
			changed++
			continue
		}
		if len(d.changes) == 0 {
			continue
		}
		changed++
		fmt.Fprintf(out, "unit %s (target %s): %s\n", d.unit, d.target, summary(d))
		for _, c := range d.changes {
			fmt.Fprintf(out, "%s %s\n%s", c.ID, c.Action, c.Diff)
		}
	}
	if changed == 0 {
		fmt.Fprintln(out, "no changes")
	}
}

func printMarkdownDiff(out io.Writer, revs [2]*reconcile.Revision, diffs []unitDiff) {
	fmt.Fprintf(out, "### steward diff `%s` → `%s`\n\n", short(revs[0].ID), short(revs[1].ID))
	var touched []unitDiff
	for _, d := range diffs {
		if d.err != nil || len(d.changes) > 0 {
			touched = append(touched, d)
		}
	}
	if len(touched) == 0 {
		fmt.Fprintf(out, "No changes in %d units.\n", len(diffs))
		return
	}
	fmt.Fprintln(out, "| unit | target | created | changed | deleted |")
	fmt.Fprintln(out, "|---|---|--:|--:|--:|")
	for _, d := range touched {
		if d.err != nil {
			fmt.Fprintf(out, "| %s | %s | ⚠️ failed | | |\n", mdEscape(d.unit), mdEscape(d.target))
			continue
		}
		fmt.Fprintf(out, "| %s | %s | %d | %d | %d |\n", mdEscape(d.unit), mdEscape(d.target), d.count(reconcile.Created), d.count(reconcile.Configured), d.count(reconcile.Deleted))
	}
	fmt.Fprintf(out, "\n%d of %d units changed.\n", len(touched), len(diffs))
	for _, d := range touched {
		if d.err != nil {
			fmt.Fprintf(out, "\n<details><summary><b>%s</b>: failed</summary>\n\n```\n%s\n```\n</details>\n", mdEscape(d.unit), fence(d.err.Error()))
			continue
		}
		var body strings.Builder
		for _, c := range d.changes {
			body.WriteString(c.Diff)
		}
		text, cut := truncateLines(body.String(), maxMarkdownDiffLines)
		fmt.Fprintf(out, "\n<details><summary><b>%s</b>: %s</summary>\n\n```diff\n%s```\n", mdEscape(d.unit), summary(d), fence(text))
		if cut > 0 {
			fmt.Fprintf(out, "\n… %d more lines not shown\n", cut)
		}
		fmt.Fprintln(out, "</details>")
	}
}

// truncateLines keeps the first n lines of s and says how many it dropped.
func truncateLines(s string, n int) (string, int) {
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) <= n {
		return s, 0
	}
	return strings.Join(lines[:n], ""), len(lines) - n
}

// fence keeps text from closing a markdown code block.
func fence(s string) string { return strings.ReplaceAll(s, "```", "`\u200b``") }

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	if sha == "" {
		return "worktree"
	}
	return sha
}
