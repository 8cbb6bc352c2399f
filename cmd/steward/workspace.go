package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/sources/packages"
)

// workspace is the repository a verb works on and the shared machinery to
// render it.
type workspace struct {
	root        string // repository root on disk
	cache       *reconcile.Cache
	logger      *slog.Logger
	stackLimits reconcile.StackLimits
	// stackID is the default identity of the stack when --repo names its
	// repository (see stackIdentity).
	stackID string
	// generators and generateTimeout come from generatorFlags.
	generators      reconcile.GeneratorFor
	generateTimeout time.Duration
	// packages resolves package units (steward.lock).
	packages *packages.Resolver
	// decrypter decrypts the SOPS files generators read (sopsFlags).
	decrypter reconcile.Decrypter
	// keepYAML keeps each generated object's YAML, for build's output.
	keepYAML bool
}

// openStack opens the working tree and reads its stack within the stack
// limits (a bad stack is exit 1). The caller closes root.
func (w *workspace) openStack() (root *os.Root, stack *reconcile.Stack, err error) {
	root, err = os.OpenRoot(w.root)
	if err != nil {
		return nil, nil, fmt.Errorf("open repository: %w", err)
	}
	stack, err = reconcile.LoadStackWith(root.FS(), w.stackLimits)
	if err != nil {
		root.Close()
		return nil, nil, &exitError{code: 1, err: err}
	}
	return root, stack, nil
}

// findRoot returns the stack's root: the nearest directory from dir upwards
// holding steward.yaml, not looking past the git repository's top (.git).
// Without a steward.yaml, the repository top (or dir) is returned and
// loading the stack says what is missing.
func findRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("repository directory: %w", err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, reconcile.StackFile)); err == nil {
			return d, nil
		}
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return abs, nil
		}
	}
}

// renderer returns a Renderer wired with steward's generators.
func (w *workspace) renderer() *reconcile.Renderer {
	opts := reconcile.DefaultRenderOptions()
	opts.Generators = w.generators
	opts.GenerateTimeout = w.generateTimeout
	opts.PostProcess = postProcess
	opts.Cache = w.cache
	opts.Logger = w.logger
	opts.Decrypter = w.decrypter
	opts.KeepYAML = w.keepYAML
	return reconcile.NewRenderer(opts)
}

// newLogger returns the slog logger the flags ask for, writing to stderr.
func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usageError("--log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, usageError("--log-format: want text or json, found %q", format)
}
