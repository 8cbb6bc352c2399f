package command

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

const (
	// DefaultTimeout bounds a run when the unit sets no timeout.
	DefaultTimeout = 60 * time.Second
	// DefaultMaxOutput is the largest stdout accepted when the unit sets no
	// maxOutput.
	DefaultMaxOutput int64 = 64 << 20
	// StderrTail is how much of the end of stderr errors carry.
	StderrTail = 4 << 10
)

// Generator runs one unit's command.
type Generator struct {
	spec reconcile.CommandGenerator
}

var _ reconcile.Generator = (*Generator)(nil)

// New returns a generator for spec.
func New(spec *reconcile.CommandGenerator) *Generator {
	g := &Generator{}
	if spec != nil {
		g.spec = *spec
	}
	return g
}

// Generate runs the command in the unit's directory and decodes its stdout.
func (g *Generator) Generate(ctx context.Context, req reconcile.GenerateRequest) ([]*reconcile.Object, error) {
	if len(g.spec.Run) == 0 || g.spec.Run[0] == "" {
		return nil, errors.New("command: run is empty")
	}
	if g.spec.MaxOutput < 0 {
		return nil, fmt.Errorf("command: maxOutput %d is negative", g.spec.MaxOutput)
	}
	if req.Tree == nil && req.LocalDir == "" {
		return nil, errors.New("command: no tree to run in")
	}
	if req.Tree != nil {
		if info, err := fs.Stat(req.Tree, req.Dir); err != nil {
			return nil, fmt.Errorf("command: unit directory: %w", err)
		} else if !info.IsDir() {
			return nil, fmt.Errorf("command: unit path %s is not a directory", req.Dir)
		}
	}
	env, err := g.environ(req)
	if err != nil {
		return nil, err
	}
	if len(req.Inputs) > 0 || len(req.Params) > 0 {
		// STEWARD_INPUT_<NAME> and STEWARD_PARAM_<NAME> each, and
		// STEWARD_INPUTS and STEWARD_PARAMS naming them as JSON.
		dir, done, err := inputsDir(req.Inputs)
		if err != nil {
			return nil, err
		}
		defer done()
		in, err := reconcile.InputsEnv(req.Inputs, dir)
		if err != nil {
			return nil, fmt.Errorf("command: %w", err)
		}
		params, err := reconcile.ParamsEnv(req.Params, dir)
		if err != nil {
			return nil, fmt.Errorf("command: %w", err)
		}
		env = append(append(env, in...), params...)
		slices.Sort(env)
	}
	root, done, err := g.workTree(ctx, req)
	if err != nil {
		return nil, err
	}
	defer done()
	exe, err := g.executable(req, root, env)
	if err != nil {
		return nil, err
	}
	name := unitName(req) + " command stdout"
	out, err := run(ctx, runSpec{
		path:      exe,
		argv:      g.spec.Run,
		dir:       filepath.Join(root, filepath.FromSlash(req.Dir)),
		env:       env,
		timeout:   g.spec.Timeout.Or(DefaultTimeout),
		maxOutput: g.maxOutput(),
	})
	if err != nil {
		return nil, err
	}
	objs, err := reconcile.DecodeObjects(out, name)
	if err != nil {
		return nil, err
	}
	if err := reconcile.CheckDuplicates(objs); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	reconcile.SortObjects(objs)
	return objs, nil
}

func (g *Generator) maxOutput() int64 {
	if g.spec.MaxOutput == 0 {
		return DefaultMaxOutput
	}
	return g.spec.MaxOutput
}

func unitName(req reconcile.GenerateRequest) string {
	if req.Unit != nil && req.Unit.Name != "" {
		return req.Unit.Name
	}
	return req.Dir
}

// environ is the command's whole environment: PATH and HOME from steward,
// then the unit's env, then the STEWARD_ variables, which nothing overrides.
func (g *Generator) environ(req reconcile.GenerateRequest) ([]string, error) {
	env := map[string]string{"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME")}
	for k, v := range g.spec.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, fmt.Errorf("command: env name %q is invalid", k)
		}
		if strings.HasPrefix(k, "STEWARD_") {
			return nil, fmt.Errorf("command: env %s: STEWARD_ variables are set by steward", k)
		}
		if strings.Contains(v, "\x00") {
			return nil, fmt.Errorf("command: env %s: value contains a NUL byte", k)
		}
		env[k] = v
	}
	env["STEWARD_UNIT"] = unitName(req)
	env["STEWARD_REVISION"] = req.Revision
	if req.Unit != nil {
		env["STEWARD_TARGET"] = req.Unit.Target
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out, nil
}

// executable resolves run[0]: with a slash it is a file relative to the
// unit's directory (or absolute), otherwise it is looked up on PATH.
func (g *Generator) executable(req reconcile.GenerateRequest, root string, env []string) (string, error) {
	arg0 := g.spec.Run[0]
	if filepath.IsAbs(arg0) {
		return arg0, nil
	}
	if strings.Contains(arg0, "/") {
		p := path.Join(req.Dir, arg0)
		if req.Tree != nil {
			if err := reconcile.ResolveInTree(req.Tree, p); err != nil {
				return "", fmt.Errorf("command %s: %w", arg0, err)
			}
		} else if err := reconcile.CleanRepoPath(p); err != nil {
			return "", fmt.Errorf("command %s: %w", arg0, err)
		}
		exe := filepath.Join(root, filepath.FromSlash(p))
		if _, err := os.Stat(exe); err != nil {
			return "", fmt.Errorf("command %s: not found in the repository at %s: %w", arg0, p, fs.ErrNotExist)
		}
		return exe, nil
	}
	var pathEnv string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	return lookPath(arg0, pathEnv)
}

// lookPath finds an executable file named name in the absolute directories
// of pathEnv; relative entries are ignored (they would depend on the
// working directory).
func lookPath(name, pathEnv string) (string, error) {
	for _, dir := range filepath.SplitList(pathEnv) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		info, err := os.Stat(p)
		if err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
			continue
		}
		return p, nil
	}
	return "", fmt.Errorf("command %s: not found in PATH: %w", name, fs.ErrNotExist)
}
