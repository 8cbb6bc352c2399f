package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/stewardhq/steward/generators/command"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/images"
	"github.com/stewardhq/steward/reconcile/writeback"
	"github.com/stewardhq/steward/sources/forge"
	"github.com/stewardhq/steward/sources/git"
	"github.com/stewardhq/steward/sources/registry"
)

// imageFlags are what image automation reads beside the stack: registry
// credentials and the directory of the signing key. Tokens come from the
// environment: STEWARD_PULL_REQUEST_TOKEN for the forge, STEWARD_GIT_TOKEN
// (or _USERNAME/_PASSWORD) for pushing over HTTPS.
type imageFlags struct {
	registryConfig string
	signingDir     string
	// proposePackages adds a steward.lock refresh to every image
	// write-back of steward run.
	proposePackages bool
}

func (f *imageFlags) register(fs *pflag.FlagSet, withSigning bool) {
	home, _ := os.UserHomeDir()
	fs.StringVar(&f.registryConfig, "registry-config", filepath.Join(home, ".docker", "config.json"), "docker config.json with registry credentials (anonymous when it does not exist)")
	if withSigning {
		fs.StringVar(&f.signingDir, "credentials-dir", filepath.Join(home, ".config", "steward", "credentials"), "directory holding the key images.update.signingKey names")
	}
}

// registryClient reads the stack's registries with the flags' credentials.
func (f *imageFlags) registryClient(stack *reconcile.Stack, logger *slog.Logger) (*registry.Client, error) {
	o, err := registryOptions(f.registryConfig, logger)
	if err != nil {
		return nil, err
	}
	if stack.Images != nil {
		o.Insecure = stack.Images.InsecureRegistries
	}
	return registry.New(o)
}

// registryOptions reach registries with the credentials of the docker
// config.json at configFile; a missing file means anonymous access.
func registryOptions(configFile string, logger *slog.Logger) (registry.Options, error) {
	o := registry.DefaultOptions()
	o.Logger = logger
	if _, err := os.Stat(configFile); err == nil {
		o.ConfigFile = configFile
		return o, nil
	}
	o.Anonymous = true
	return o, nil
}

// runUpdater runs a unit's updater program through the command
// generator's runner.
func runUpdater(ctx context.Context, wc *writeback.WorkCopy, u *reconcile.Unit, c images.Choice) error {
	_, err := command.Run(ctx, wc.Dir, u.Path, u.Updater.Run, images.UpdaterEnv(u, c), u.Updater.Timeout.D())
	return err
}

// writebackOptions are the stack's images.update section as Push options;
// branch is the tracked branch when the section names none.
func (f *imageFlags) writebackOptions(stack *reconcile.Stack, branch string, st reconcile.Stages, sec *secrets, logger *slog.Logger) (writeback.Options, git.CommitSigner, error) {
	o := writeback.DefaultOptions()
	o.Branch, o.Stages, o.Logger = branch, st, logger
	var u reconcile.ImageUpdate
	if stack.Images != nil && stack.Images.Update != nil {
		u = *stack.Images.Update
	}
	if u.Branch != "" {
		o.Branch = u.Branch
	}
	o.PushBranch, o.Message = u.PushBranch, u.Message
	if u.Author != nil {
		o.Author = writeback.Author{Name: u.Author.Name, Email: u.Author.Email}
	}
	var signer git.CommitSigner
	if u.SigningKey != "" {
		if strings.ContainsAny(u.SigningKey, `/\`) || u.SigningKey == ".." {
			return o, nil, fmt.Errorf("images.update.signingKey %q: want a file name under the credentials directory", u.SigningKey)
		}
		key, err := os.ReadFile(filepath.Join(f.signingDir, u.SigningKey))
		if err != nil {
			return o, nil, fmt.Errorf("images.update.signingKey: %w", err)
		}
		if signer, err = git.NewCommitSigner(key); err != nil {
			return o, nil, fmt.Errorf("images.update.signingKey %s: %w", u.SigningKey, err)
		}
	}
	if pr := u.PullRequest; pr != nil {
		fc, err := forge.New(forge.Options{Provider: pr.Provider, Repo: pr.Repo, BaseURL: pr.URL, Token: sec.get("STEWARD_PULL_REQUEST_TOKEN")})
		if err != nil {
			return o, nil, fmt.Errorf("images.update.pullRequest: %w (token: STEWARD_PULL_REQUEST_TOKEN)", err)
		}
		o.Forge = fc
	}
	return o, signer, nil
}

// pushSource opens the repository write-backs push to: --repo, else the
// origin of the local repository; its clone lives under cacheDir. dir is
// where the stack lives in it.
func pushSource(ctx context.Context, w *workspace, sf *sourceFlags, g *globalFlags) (src *git.Source, dir string, err error) {
	url, dir := sf.repo, "."
	if url == "" {
		top, rel, err := gitTop(w.root)
		if err != nil {
			return nil, "", err
		}
		repo, err := git.Open(ctx, top)
		if err != nil {
			return nil, "", err
		}
		defer repo.Close()
		if url, err = repo.RemoteURL("origin"); err != nil {
			return nil, "", fmt.Errorf("no repository to push to (use --repo URL): %w", err)
		}
		if !strings.Contains(url, "://") && filepath.IsAbs(url) {
			url = "file://" + url
		}
		dir = rel
	}
	o := git.DefaultSourceOptions()
	o.URL, o.Branch, o.Logger = url, sf.branch, w.logger
	sum := sha256.Sum256([]byte(url))
	o.CacheDir = filepath.Join(g.cacheDir, "writeback", hex.EncodeToString(sum[:8]))
	o.Auth, o.AllowInsecureHTTP = g.gitAuth(), sf.allowInsecureHTTP
	src, err = git.NewSource(o)
	return src, dir, insecureHTTPUsage(err)
}

// trackedBranch is the branch a write-back builds on: the flag's, else
// the remote's HEAD.
func trackedBranch(ctx context.Context, src *git.Source, flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if _, err := src.Poll(ctx); err != nil {
		return "", err
	}
	ref := src.Status().Ref
	b, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok {
		return "", fmt.Errorf("remote HEAD is %s, not a branch: set --branch or images.update.branch", ref)
	}
	return b, nil
}

// printOutcomes writes what became of each proposal; it reports whether
// any was dropped.
func printOutcomes(out io.Writer, outcomes []writeback.Outcome) bool {
	dropped := false
	for _, o := range outcomes {
		if o.Err != nil {
			dropped = true
			fmt.Fprintf(out, "%s %s: not committed: %v\n", o.Policy, o.Detail, o.Err)
			continue
		}
		for _, c := range o.Changes {
			fmt.Fprintf(out, "%s %s: %s", o.Policy, o.Detail, c.File)
			if c.Line > 0 {
				fmt.Fprintf(out, ":%d", c.Line)
			}
			if c.Old != "" {
				fmt.Fprintf(out, ": %s → %s", c.Old, c.New)
			} else {
				fmt.Fprintf(out, ": %s", c.New)
			}
			if c.Unit != "" {
				fmt.Fprintf(out, " (unit %s)", c.Unit)
			}
			fmt.Fprintln(out)
		}
		for _, c := range o.Skipped {
			fmt.Fprintf(out, "%s %s: skipped: %s\n", o.Policy, o.Detail, c.Skipped)
		}
		for _, n := range o.NotChecked {
			fmt.Fprintf(out, "%s %s: %s\n", o.Policy, o.Detail, n)
		}
	}
	return dropped
}
