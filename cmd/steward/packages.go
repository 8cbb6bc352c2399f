package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/sources/git"
	"github.com/stewardhq/steward/sources/packages"
)

// packageResolver returns the resolver of package units: package
// repositories are reached with auth and their commits verified with
// verify (when set), like the main repository; their clones live under
// the cache directory.
func (g *globalFlags) packageResolver(logger *slog.Logger, auth git.Auth, verify *git.VerifyOptions, insecureHTTP bool, insecureRegistries ...string) (*packages.Resolver, error) {
	opts := packages.DefaultOptions()
	opts.CacheDir = g.cacheDir
	if opts.CacheDir == "" {
		opts.CacheDir = filepath.Join(os.TempDir(), "steward-cache")
	}
	opts.Auth, opts.Verify, opts.AllowInsecureHTTP, opts.Logger = auth, verify, insecureHTTP, logger
	// OCI packages: the registry credentials image automation uses by
	// default; the stack's images.insecureRegistries are added per stack.
	home, _ := os.UserHomeDir()
	ro, err := registryOptions(filepath.Join(home, ".docker", "config.json"), logger)
	if err != nil {
		return nil, err
	}
	ro.Insecure = insecureRegistries
	opts.Registry = &ro
	return packages.New(opts)
}

func newPackagesCommand(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "packages",
		Short: "The stack's package units: steward.lock",
	}
	cmd.AddCommand(newPackagesUpdateCommand(g))
	return cmd
}

func newPackagesUpdateCommand(g *globalFlags) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Resolve every package unit afresh and write steward.lock",
		Long: `Resolve every package unit of steward.yaml afresh (the highest version its range or channel admits) and
write what each got to steward.lock next to steward.yaml: version, commit or digest, and content hash.
--dry-run prints the changes and writes nothing. Exit 1 when a package cannot be resolved.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPackagesUpdate(cmd.Context(), g, dryRun, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would change; write nothing")
	return cmd
}

func runPackagesUpdate(ctx context.Context, g *globalFlags, dryRun bool, out io.Writer) error {
	w, err := g.workspace()
	if err != nil {
		return err
	}
	root, stack, err := w.openStack()
	if err != nil {
		return err
	}
	defer root.Close()
	old, err := packages.ReadLock(root.FS())
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	next, changes, err := w.packages.Update(ctx, stack, old)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	for _, c := range changes {
		fmt.Fprintln(out, c)
	}
	if len(changes) == 0 {
		fmt.Fprintf(out, "%s is up to date\n", packages.LockFile)
		return nil
	}
	if dryRun {
		return nil
	}
	b, err := next.Marshal()
	if err != nil {
		return err
	}
	if err := root.WriteFile(packages.LockFile, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", packages.LockFile, err)
	}
	fmt.Fprintf(out, "wrote %s\n", packages.LockFile)
	return nil
}
