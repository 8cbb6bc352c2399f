package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/reconcile"
)

// globalFlags are the flags every verb shares.
type globalFlags struct {
	dir       string // -C: the repository to work on
	cacheDir  string
	noCache   bool
	logFormat string
	logLevel  string
	stack     reconcile.StackLimits
	secrets   secrets
	sops      sopsFlags
	// inputs resolves units' inputs for the working-tree verbs; nil uses
	// the outputs' examples (--outputs-from-live sets it).
	inputs func(*reconcile.Stack) reconcile.InputResolver
	// printsYAML is set by build, which prints the objects: the working
	// tree's generation keeps their YAML (reconcile.RenderOptions.KeepYAML).
	printsYAML bool
	gen        generatorFlags
	// gitSSHKey and gitKnownHosts reach ssh:// repositories: the followed
	// one, image automation's and package repositories, for every verb.
	gitSSHKey, gitKnownHosts string
}

func newRootCommand() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:           "steward",
		Short:         "Keep clusters and machines the way a git repository says",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := root.PersistentFlags()
	f.StringVarP(&g.dir, "directory", "C", ".", "the git repository to work on")
	f.StringVar(&g.cacheDir, "cache-dir", defaultCacheDir(), "where generated output is cached between runs")
	f.BoolVar(&g.noCache, "no-cache", false, "generate every unit, ignoring and not writing the cache")
	f.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&g.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	home, _ := os.UserHomeDir()
	f.StringVar(&g.gitSSHKey, "git-ssh-key", "", "private key for ssh:// repositories (the followed one, image automation's, package repositories)")
	f.StringVar(&g.gitKnownHosts, "git-known-hosts", filepath.Join(home, ".ssh", "known_hosts"), "known_hosts for ssh:// repositories")
	def := reconcile.DefaultStackLimits()
	f.Int64Var(&g.stack.MaxBytes, "stack-max-bytes", def.MaxBytes, "refuse a steward.yaml larger than this")
	f.IntVar(&g.stack.MaxErrors, "max-errors", def.MaxErrors, "report at most this many errors of steward.yaml, then how many more")
	g.secrets.register(f)
	g.sops.register(f)
	g.gen.register(f)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := g.sops.load(cmd); err != nil {
			return err
		}
		return g.secrets.load()
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError("%v", err) })
	root.AddCommand(
		newVersionCommand(),
		newBuildCommand(g),
		newVerifyCommand(g),
		newDiffCommand(g),
		newSyncCommand(g),
		newRunCommand(g),
		newImagesCommand(g),
		newPackagesCommand(g),
		newPackageCommand(g),
		newUnitActionCommand(g, "suspend", "Stop applying a unit"),
		newUnitActionCommand(g, "resume", "Apply a suspended unit again"),
		newReleaseCommand(g),
	)
	return root
}

func defaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "steward")
	}
	return ""
}

// workspace opens the repository the flags name.
func (g *globalFlags) workspace() (*workspace, error) {
	logger, err := newLogger(g.logFormat, g.logLevel)
	if err != nil {
		return nil, err
	}
	root, err := findRoot(g.dir)
	if err != nil {
		return nil, err
	}
	gens, err := g.gen.generators()
	if err != nil {
		return nil, err
	}
	w := &workspace{root: root, logger: logger, stackLimits: g.stack, generators: gens, generateTimeout: g.gen.timeout, decrypter: g.sops.decrypter(), keepYAML: g.printsYAML}
	if w.packages, err = g.packageResolver(logger, g.gitAuth(), nil, false); err != nil {
		return nil, err
	}
	if !g.noCache {
		dir := ""
		if g.cacheDir != "" {
			dir = filepath.Join(g.cacheDir, "generate")
		}
		w.cache = reconcile.NewCache(dir, cacheVersion())
	}
	return w, nil
}

// cacheVersion separates cache entries of different steward builds. A
// development build has no version, so its executable's size and time stand
// in for one.
func cacheVersion() string {
	v := version + "+" + commit + "+" + vcsRevision()
	if version == "dev" {
		if exe, err := os.Executable(); err == nil {
			if fi, err := os.Stat(exe); err == nil {
				v += fmt.Sprintf("+%d+%d", fi.Size(), fi.ModTime().UnixNano())
			}
		}
	}
	return v
}
