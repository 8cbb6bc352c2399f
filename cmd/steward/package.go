package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/checks"
	"github.com/stewardhq/steward/reconcile/images/policy"
	"github.com/stewardhq/steward/reconcile/packages"
	"github.com/stewardhq/steward/sources/git"
	spackages "github.com/stewardhq/steward/sources/packages"
	"github.com/stewardhq/steward/targets/machine"
)

func newPackageCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "package",
		Short: "A package's own CI: test its examples, publish a version, promote a candidate",
	}
	cmd.AddCommand(newPackageTestCommand(g), newPackagePublishCommand(g), newPackagePromoteCommand(g))
	return cmd
}

func newPackageTestCommand(g *globalFlags) *cobra.Command {
	var update bool
	cmd := &cobra.Command{
		Use:   "test DIR",
		Short: "Render every example of a package, run its checks and compare with the expected output",
		Long: `Render each examples/NAME/params.yaml of the package in DIR with the package's generator, run the
package's checks over the objects and compare them with examples/NAME/expected/ (one file per object, as
build -o writes them). --update writes expected/ instead. Exit 1 when an example fails.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPackageTest(cmd.Context(), g, args[0], update, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&update, "update", false, "write each example's expected/ from what it renders")
	return cmd
}

func runPackageTest(ctx context.Context, g *globalFlags, dir string, update bool, out io.Writer) error {
	w, err := g.workspace()
	if err != nil {
		return err
	}
	opts := checks.DefaultOptions()
	opts.ValidateMachine = machine.Validate
	results, err := packages.RunExamples(ctx, dir, packages.ExampleOptions{Renderer: w.renderer(), Checks: checks.For(opts), Update: update})
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	failed := 0
	for _, r := range results {
		if !r.Failed() {
			fmt.Fprintf(out, "ok    %s (%d objects)\n", r.Name, r.Objects)
			continue
		}
		failed++
		fmt.Fprintf(out, "FAIL  %s\n", r.Name)
		for _, p := range r.Problems {
			fmt.Fprintf(out, "  %v\n", p)
		}
		for _, d := range r.Diffs {
			fmt.Fprint(out, d)
		}
	}
	if failed > 0 {
		fmt.Fprintf(out, "%d of %d examples failed\n", failed, len(results))
		return silentExit(1)
	}
	return nil
}

// packageRemoteFlags say which repository publish and promote work on.
type packageRemoteFlags struct {
	repo              string
	allowInsecureHTTP bool
	oci               string
	insecure          []string
}

func (f *packageRemoteFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.repo, "repo", "", "URL of the package repository (default: the origin of the local repository)")
	cmd.Flags().BoolVar(&f.allowInsecureHTTP, "allow-insecure-http", false, "send the git token or password to an http:// repository")
	cmd.Flags().StringVar(&f.oci, "oci", "", "an OCI repository (registry/name) to work on instead of git")
	cmd.Flags().StringSliceVar(&f.insecure, "insecure-registry", nil, "a registry (host[:port]) that may be reached over plain HTTP")
}

// resolver opens the workspace and returns it with a package resolver
// reaching repositories with the credentials steward was started with and
// the flags' plain-HTTP allowances.
func (f *packageRemoteFlags) resolver(g *globalFlags) (*workspace, *spackages.Resolver, error) {
	w, err := g.workspace()
	if err != nil {
		return nil, nil, err
	}
	r, err := g.packageResolver(w.logger, g.gitAuth(), nil, f.allowInsecureHTTP, f.insecure...)
	if err != nil {
		return nil, nil, insecureHTTPUsage(err)
	}
	return w, r, nil
}

// origin returns --repo, else the origin URL of the repository holding dir.
func (f *packageRemoteFlags) origin(ctx context.Context, dir string) (string, error) {
	if f.repo != "" {
		return f.repo, nil
	}
	repo, err := git.Open(ctx, dir)
	if err != nil {
		return "", err
	}
	defer repo.Close()
	u, err := repo.RemoteURL("origin")
	if err != nil {
		return "", usageError("no --repo and %v", err)
	}
	if filepath.IsAbs(u) {
		u = "file://" + u
	}
	return u, nil
}

func newPackagePublishCommand(g *globalFlags) *cobra.Command {
	f := &packageRemoteFlags{}
	var version string
	cmd := &cobra.Command{
		Use:   "publish DIR --version V",
		Short: "Tag the package in DIR at the local HEAD as version V on its repository",
		Long: `Tag the commit checked out (HEAD, which must be pushed) as version V of the package in DIR: NAME/vV when
the package is a directory of its repository (named after the package), vV at the root. The tag is pushed
to the repository (--repo, default the origin). A version that exists at another commit is refused.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if version == "" {
				return usageError("publish needs --version")
			}
			return runPackagePublish(cmd.Context(), g, f, args[0], version, cmd.OutOrStdout())
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&version, "version", "", "the version to publish (X.Y.Z[-pre])")
	return cmd
}

func runPackagePublish(ctx context.Context, g *globalFlags, f *packageRemoteFlags, dir, version string, out io.Writer) error {
	if f.oci != "" {
		return runPackagePublishOCI(ctx, g, f, dir, version, out)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	top, rel, err := gitTop(abs)
	if err != nil {
		return usageError("%v", err)
	}
	repo, err := git.Open(ctx, top)
	if err != nil {
		return err
	}
	head, err := repo.Resolve(ctx, "HEAD")
	repo.Close()
	if err != nil {
		return err
	}
	url, err := f.origin(ctx, top)
	if err != nil {
		return err
	}
	_, r, err := f.resolver(g)
	if err != nil {
		return err
	}
	defer r.Close()
	p, err := r.PublishGit(ctx, url, rel, version, head)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	fmt.Fprintf(out, "published %s at %s\n", p.Tag, p.Commit)
	return nil
}

// runPackagePublishOCI pushes the package in dir as an OCI artifact
// tagged vVERSION.
func runPackagePublishOCI(ctx context.Context, g *globalFlags, f *packageRemoteFlags, dir, version string, out io.Writer) error {
	_, r, err := f.resolver(g)
	if err != nil {
		return err
	}
	defer r.Close()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return usageError("%v", err)
	}
	defer root.Close()
	if _, err := packages.Load(root.FS(), ".", filepath.Join(dir, reconcile.PackageFile)); err != nil {
		return &exitError{code: 1, err: err}
	}
	p, err := r.PublishOCI(ctx, f.oci, root.FS(), ".", version)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	fmt.Fprintf(out, "published %s at %s\n", p.Tag, p.Commit)
	return nil
}

func newPackagePromoteCommand(g *globalFlags) *cobra.Command {
	f := &packageRemoteFlags{}
	var to string
	cmd := &cobra.Command{
		Use:   "promote NAME VERSION --to stable",
		Short: "Point a candidate's stable version at exactly its content",
		Long: `Tag the commit of version VERSION of package NAME (a candidate, 1.3.0-rc.2) as its stable version
(1.3.0): the same commit, so stable installs exactly what was tested as the candidate.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ch, err := policy.ParseChannel(to)
			if err != nil {
				return usageError("--to: %v", err)
			}
			return runPackagePromote(cmd.Context(), g, f, args[0], args[1], ch, cmd.OutOrStdout())
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&to, "to", "stable", "the channel to promote to")
	return cmd
}

func runPackagePromote(ctx context.Context, g *globalFlags, f *packageRemoteFlags, name, version string, to policy.Channel, out io.Writer) error {
	w, r, err := f.resolver(g)
	if err != nil {
		return err
	}
	defer r.Close()
	var p *spackages.Published
	if f.oci != "" {
		if to != policy.Stable {
			return usageError("--to: only stable can be named from a version")
		}
		p, err = r.PromoteOCI(ctx, f.oci, version)
	} else {
		var url string
		if url, err = f.origin(ctx, w.root); err != nil {
			return err
		}
		p, err = r.PromoteGit(ctx, url, name, version, to)
	}
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	fmt.Fprintf(out, "promoted %s %s to %s: %s at %s\n", name, version, to, p.Tag, p.Commit)
	return nil
}
