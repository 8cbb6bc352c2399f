package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/images"
	"github.com/stewardhq/steward/reconcile/writeback"
	"github.com/stewardhq/steward/sources/git"
)

func newImagesCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Image automation: what each policy picks, and one update pass",
	}
	cmd.AddCommand(newImagesListCommand(g), newImagesUpdateCommand(g))
	return cmd
}

func newImagesListCommand(g *globalFlags) *cobra.Command {
	f := &imageFlags{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Per policy: the tag it would choose, the tag in git, and its age",
		Long: `Scan the registries of the stack's image policies (one tag listing per repository) and print, per
policy, the tag it chooses, the tags its markers hold in the working tree, and the chosen image's age.
Exit 1 when a policy chooses nothing (registry error, no tag matching) or a marker names no policy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runImagesList(cmd.Context(), g, f, cmd.OutOrStdout())
		},
	}
	f.register(cmd.Flags(), false)
	return cmd
}

func runImagesList(ctx context.Context, g *globalFlags, f *imageFlags, out io.Writer) error {
	w, err := g.workspace()
	if err != nil {
		return err
	}
	root, stack, err := w.openStack()
	if err != nil {
		return err
	}
	defer root.Close()
	client, err := f.registryClient(stack, w.logger)
	if err != nil {
		return err
	}
	list, warns, unknown := images.List(ctx, client.Scan(), stack, root.FS(), images.DefaultOptions())
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POLICY\tIMAGE\tCHOSEN\tIN GIT\tAGE\tSTATE")
	failed := false
	for _, l := range list {
		inGit := "-"
		if tags := l.InGit(); len(tags) > 0 {
			inGit = fmt.Sprint(tags)
		}
		state, chosen, age := "update", l.Tag, "-"
		switch {
		case l.Err != nil:
			failed = true
			state, chosen = "error: "+l.Err.Error(), "-"
		case len(l.Markers) == 0:
			state = "no markers"
		case l.UpToDate():
			state = "up to date"
		}
		if l.Age > 0 {
			age = l.Age.Round(time.Minute).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.Policy, l.Image, chosen, inGit, age, state)
	}
	_ = tw.Flush()
	for _, wn := range warns {
		fmt.Fprintln(out, "warning:", wn)
	}
	if unknown != nil {
		printProblems(out, reconcile.Split(unknown))
		return silentExit(1)
	}
	if failed {
		return silentExit(1)
	}
	return nil
}

type imagesUpdateFlags struct {
	dryRun, push bool
	images       imageFlags
	source       sourceFlags
}

func newImagesUpdateCommand(g *globalFlags) *cobra.Command {
	f := &imagesUpdateFlags{}
	cmd := &cobra.Command{
		Use:   "update [--dry-run] [--push]",
		Short: "One image-automation pass: scan, edit the markers, verify, and write or push",
		Long: `Scan the registries, set every marker to its policy's choice (and run unit updaters), then
generate and check every unit touched, as steward verify does, refreshing committed output. A change that
fails is left out and reported with its policy, tag and error; the others go through. Without any SOPS
key, a touched unit that reads a SOPS file is generated from the ciphertext and reported (and named in the
commit message) as not checked, its committed output left as it was; the reconciler, which holds the keys,
checks it before applying.

Without --push the verified edits are written into the working tree. With --push they are committed
(author, message and signing key from images.update) onto the remote's tracked branch and pushed: a
fast-forward of it, or to images.update.pushBranch with a pull request when pullRequest is set
(token: STEWARD_PULL_REQUEST_TOKEN). --dry-run prints the diff it would write or commit and changes
nothing. Exit 1 when a change was left out or a policy chose nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.push {
				return runImagesPush(cmd.Context(), g, f, cmd.OutOrStdout())
			}
			return runImagesUpdateLocal(cmd.Context(), g, f, cmd.OutOrStdout())
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the diff it would write or commit; change nothing")
	fl.BoolVar(&f.push, "push", false, "commit and push (to the tracked branch, or images.update.pushBranch with its pull request)")
	f.images.register(fl, true)
	fl.StringVar(&f.source.repo, "repo", "", "repository to push to (default: the origin of the local repository)")
	fl.StringVar(&f.source.branch, "branch", "", "tracked branch (default: images.update.branch, else the remote HEAD)")
	fl.BoolVar(&f.source.allowInsecureHTTP, "allow-insecure-http", false, "send the git token or password to an http:// repository (anyone on the path can read it)")
	return cmd
}

// scanChoices scans the stack's policies and prints the ones that chose
// nothing; failed reports whether any did.
func scanChoices(ctx context.Context, f *imageFlags, w *workspace, stack *reconcile.Stack, out io.Writer) (choices []images.Choice, failed bool, err error) {
	if stack.Images == nil || len(stack.Images.Policies) == 0 {
		return nil, false, nil
	}
	client, err := f.registryClient(stack, w.logger)
	if err != nil {
		return nil, false, err
	}
	choices = images.Scan(ctx, client.Scan(), stack.Images.Policies, images.DefaultOptions())
	for _, c := range choices {
		if c.Err != nil {
			failed = true
			fmt.Fprintf(out, "%s: no choice: %v\n", c.Policy, c.Err)
		}
	}
	return choices, failed, nil
}

func runImagesUpdateLocal(ctx context.Context, g *globalFlags, f *imagesUpdateFlags, out io.Writer) error {
	w, err := g.workspace()
	if err != nil {
		return err
	}
	root, stack, err := w.openStack()
	if err != nil {
		return err
	}
	defer root.Close()
	choices, failed, err := scanChoices(ctx, &f.images, w, stack, out)
	if err != nil {
		return err
	}
	base := &reconcile.Revision{Tree: root.FS(), Dir: w.root}
	prep, err := writeback.Prepare(ctx, base, images.Proposals(choices, runUpdater), w.stages(), "")
	if err != nil {
		return err
	}
	defer prep.Close()
	dropped := printOutcomes(out, prep.Outcomes)
	paths := sortedPaths(prep.Files)
	switch {
	case len(paths) == 0:
		fmt.Fprintln(out, "nothing to update")
	case f.dryRun:
		for _, p := range paths {
			old, _ := root.ReadFile(p)
			fmt.Fprint(out, reconcile.UnifiedDiff("a/"+p, "b/"+p, string(old), string(prep.Files[p])))
		}
	default:
		if err := writeFiles(root, prep.Files); err != nil {
			return err
		}
		fmt.Fprintf(out, "wrote %d files\n", len(paths))
	}
	if dropped || failed {
		return silentExit(1)
	}
	return nil
}

func runImagesPush(ctx context.Context, g *globalFlags, f *imagesUpdateFlags, out io.Writer) error {
	w, err := g.workspace()
	if err != nil {
		return err
	}
	src, dir, err := pushSource(ctx, w, &f.source, g)
	if err != nil {
		return err
	}
	defer src.Close()
	remote := &git.Remote{Source: src, Dir: dir}
	branch, err := trackedBranch(ctx, src, f.source.branch)
	if err != nil {
		return err
	}
	head, err := remote.FetchBranch(ctx, branch)
	if err != nil {
		return err
	}
	stack, err := reconcile.LoadStack(head.Tree)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	opts, signer, err := f.images.writebackOptions(stack, branch, w.stages(), &g.secrets, w.logger)
	if err != nil {
		return err
	}
	remote.Signer, opts.DryRun = signer, f.dryRun
	choices, failed, err := scanChoices(ctx, &f.images, w, stack, out)
	if err != nil {
		return err
	}
	res, err := writeback.Push(ctx, remote, images.Proposals(choices, runUpdater), opts)
	dropped := false
	if res != nil {
		dropped = printOutcomes(out, res.Outcomes)
	}
	if err != nil {
		var pe *writeback.PushError
		if errors.As(err, &pe) {
			return &exitError{code: 1, err: err}
		}
		return err
	}
	switch {
	case len(res.Files) == 0:
		fmt.Fprintln(out, "nothing to update")
	case f.dryRun:
		for _, p := range sortedPaths(res.Files) {
			fmt.Fprint(out, reconcile.UnifiedDiff("a/"+p, "b/"+p, string(res.Old[p]), string(res.Files[p])))
		}
	default:
		fmt.Fprintf(out, "committed %s to %s\n", reconcile.ShortRevision(res.Commit, reconcile.RevisionWidth), res.Branch)
		if pr := res.PullRequest; pr != nil {
			verb := "updated"
			if pr.Created {
				verb = "opened"
			}
			fmt.Fprintf(out, "pull request #%d %s: %s\n", pr.Number, verb, pr.URL)
		}
	}
	if dropped || failed {
		return silentExit(1)
	}
	return nil
}

func sortedPaths(files map[string][]byte) []string {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths
}

// writeFiles writes the verified files into the working tree, each
// atomically (a temporary file renamed over it); nil removes.
func writeFiles(root *os.Root, files map[string][]byte) error {
	for _, p := range sortedPaths(files) {
		if files[p] == nil {
			if err := root.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("write %s: %w", p, err)
			}
			continue
		}
		mode := os.FileMode(0o644)
		if info, err := root.Stat(p); err == nil {
			mode = info.Mode().Perm()
		}
		if err := root.MkdirAll(path.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		tmp := path.Join(path.Dir(p), "."+path.Base(p)+".steward-tmp")
		if err := root.WriteFile(tmp, files[p], mode); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := root.Rename(tmp, p); err != nil {
			_ = root.Remove(tmp)
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}
