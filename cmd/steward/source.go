package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/sources/git"
)

// sourceFlags say which repository sync and run follow: --repo, or the
// repository steward runs in.
type sourceFlags struct {
	repo           string
	branch         string
	tag            string
	semver         string
	depth          int
	verifyKeyring  string
	allowedSigners string
	// allowInsecureHTTP lets the git token or password go to an http://
	// repository.
	allowInsecureHTTP bool
}

func (f *sourceFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.repo, "repo", "", "repository URL to follow (file://, https://, ssh://); default: the repository of -C, through its own clone")
	fs.StringVar(&f.branch, "branch", "", "branch to follow (default: the remote HEAD)")
	fs.StringVar(&f.tag, "tag", "", "tag to follow instead of a branch")
	fs.StringVar(&f.semver, "semver", "", "follow the highest tag in this semver range (\">=1.2.0 <2\") instead of a branch")
	fs.IntVar(&f.depth, "depth", 1, "fetch depth (0: full history)")
	fs.StringVar(&f.verifyKeyring, "verify-openpgp", "", "armored OpenPGP keyring: refuse commits not signed by one of its keys")
	fs.StringVar(&f.allowedSigners, "verify-ssh", "", "SSH allowed_signers file: refuse commits not signed by one of its keys")
	fs.BoolVar(&f.allowInsecureHTTP, "allow-insecure-http", false, "send the git token or password to an http:// repository (anyone on the path can read it)")
}

// source returns the Source the flags describe. HTTPS credentials come from
// STEWARD_GIT_TOKEN or STEWARD_GIT_USERNAME/STEWARD_GIT_PASSWORD (or their
// --…-file flags), read once at start-up.
func (f *sourceFlags) source(w *workspace, g *globalFlags) (reconcile.Source, error) {
	url, sub := f.repo, "."
	if url == "" {
		top, rel, err := gitTop(w.root)
		if err != nil {
			return nil, err
		}
		url, sub = "file://"+top, rel
	} else {
		w.stackID = reconcile.StackIdentity(url, sub)
	}
	opts := git.DefaultSourceOptions()
	opts.URL, opts.Branch, opts.Tag, opts.SemverTag = url, f.branch, f.tag, f.semver
	opts.Depth, opts.Logger = f.depth, w.logger
	sum := sha256.Sum256([]byte(url + "\x00" + f.branch + "\x00" + f.tag + "\x00" + f.semver))
	opts.CacheDir = filepath.Join(g.cacheDir, "sources", hex.EncodeToString(sum[:8]))
	opts.Auth, opts.AllowInsecureHTTP = g.gitAuth(), f.allowInsecureHTTP
	var err error
	if opts.Verify, err = f.verifyOptions(); err != nil {
		return nil, err
	}
	src, err := git.NewSource(opts)
	if err != nil {
		return nil, insecureHTTPUsage(err)
	}
	return reconcile.SubSource(src, sub), nil
}

// verifyOptions are the signature keys of the flags, nil for none.
func (f *sourceFlags) verifyOptions() (*git.VerifyOptions, error) {
	if f.verifyKeyring == "" && f.allowedSigners == "" {
		return nil, nil
	}
	v := &git.VerifyOptions{}
	for _, p := range []struct {
		file string
		into *string
	}{{f.verifyKeyring, &v.OpenPGPKeyRing}, {f.allowedSigners, &v.AllowedSigners}} {
		if p.file == "" {
			continue
		}
		b, err := os.ReadFile(p.file)
		if err != nil {
			return nil, usageError("signature keys: %v", err)
		}
		*p.into = string(b)
	}
	return v, nil
}

// insecureHTTPUsage turns a git.InsecureHTTPError into a usage error naming
// the flag that allows it.
func insecureHTTPUsage(err error) error {
	if _, ok := errors.AsType[*git.InsecureHTTPError](err); ok {
		return usageError("%v; pass --allow-insecure-http to send it anyway", err)
	}
	return err
}

// gitTop returns the top of the git worktree holding dir and dir's place in
// it.
func gitTop(dir string) (top, rel string, err error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			rel, err := filepath.Rel(d, dir)
			return d, filepath.ToSlash(rel), err
		}
		if filepath.Dir(d) == d {
			return "", "", fmt.Errorf("%s is not in a git repository (use --repo URL)", dir)
		}
	}
}

// newReconciler wires the engine as sync and run share it: the source the
// flags name, steward's generators and checks (the one pipeline every verb
// uses), and the targets with the credentials steward holds. The caller
// closes it.
func newReconciler(w *workspace, g *globalFlags, sf *sourceFlags, tf *targetFlags, opts reconcile.ReconcilerOptions) (*reconcile.Reconciler, error) {
	src, err := sf.source(w, g)
	if err != nil {
		return nil, err
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	// Package repositories are reached and verified as the main one is:
	// this resolver replaces the workspace's.
	verify, err := sf.verifyOptions()
	if err != nil {
		return nil, err
	}
	if w.packages != nil {
		w.packages.Close()
	}
	if w.packages, err = g.packageResolver(w.logger, g.gitAuth(), verify, sf.allowInsecureHTTP); err != nil {
		return nil, err
	}
	opts.Source, opts.Stages = src, w.stages()
	opts.Targets, opts.Logger = tf.resolver(wd, w.logger), w.logger
	return reconcile.NewReconciler(opts), nil
}

// gitAuth is how steward reaches a repository (the followed one, the one
// image automation pushes to, package repositories): the tokens it was
// started with and the SSH key and known_hosts of the flags.
func (g *globalFlags) gitAuth() git.Auth {
	return git.Auth{
		Token:          g.secrets.get("STEWARD_GIT_TOKEN"),
		Username:       g.secrets.get("STEWARD_GIT_USERNAME"),
		Password:       g.secrets.get("STEWARD_GIT_PASSWORD"),
		SSHKeyFile:     g.gitSSHKey,
		KnownHostsFile: g.gitKnownHosts,
	}
}
