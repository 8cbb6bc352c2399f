package packages

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/stewardhq/steward/reconcile"
)

// ExamplesDir holds a package's examples: examples/NAME/params.yaml, one
// parameter set, and examples/NAME/expected/, the objects it renders (one
// file per object, as `steward build -o` writes them).
const ExamplesDir = "examples"

// ExampleOptions configure RunExamples.
type ExampleOptions struct {
	// Renderer runs the package's generator. Required.
	Renderer *reconcile.Renderer
	// Checks builds the checks stage (the package's checks run in it);
	// nil runs none.
	Checks reconcile.CheckerFor
	// Update writes each example's expected/ from what it renders instead
	// of comparing.
	Update bool
}

// ExampleResult is what one example of a package did.
type ExampleResult struct {
	Name    string
	Objects int
	// Problems are schema violations, generator failures and check
	// failures.
	Problems reconcile.Errors
	// Diffs are the differences between what was rendered and expected/.
	Diffs []string
}

// Failed reports whether the example failed.
func (r *ExampleResult) Failed() bool { return len(r.Problems) > 0 || len(r.Diffs) > 0 }

// RunExamples renders every example of the package in dir (on disk), runs the
// package's checks over each and compares the objects with the example's
// expected/. A package without a valid manifest, or without examples, is
// the error.
func RunExamples(ctx context.Context, dir string, opts ExampleOptions) ([]ExampleResult, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	tree := root.FS()
	p, err := Load(tree, ".", filepath.Join(dir, reconcile.PackageFile))
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(tree, ExamplesDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var out []ExampleResult
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		res, err := testExample(ctx, tree, dir, p, e.Name(), opts)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no examples (want %s/NAME/params.yaml and %s/NAME/expected/)", dir, ExamplesDir, ExamplesDir)
	}
	return out, nil
}

func testExample(ctx context.Context, tree fs.FS, dir string, p *Package, name string, opts ExampleOptions) (ExampleResult, error) {
	res := ExampleResult{Name: name}
	exDir := path.Join(ExamplesDir, name)
	paramsFile := path.Join(exDir, "params.yaml")
	with, err := readParams(tree, paramsFile)
	if err != nil {
		res.Problems = append(res.Problems, err)
		return res, nil
	}
	params, vs, err := p.Schema.Apply(with)
	if err != nil {
		res.Problems = append(res.Problems, fmt.Errorf("%s: %w", paramsFile, err))
		return res, nil
	}
	for _, v := range vs {
		res.Problems = append(res.Problems, fmt.Errorf("%s: /%s: %s (schema %s)", paramsFile, path.Join(v.Instance...), v.Msg, v.Keyword))
	}
	if len(vs) > 0 {
		return res, nil
	}
	stack, err := exampleStack(p.Manifest, name)
	if err != nil {
		return res, err
	}
	u := &stack.Units[0]
	rev := &reconcile.Revision{Tree: tree, Dir: dir}
	if err := stack.UsePackage(u, &reconcile.ResolvedPackage{Manifest: p.Manifest, Revision: rev, Dir: ".", Params: params, Version: "example"}); err != nil {
		return res, err
	}
	rendered := opts.Renderer.Render(ctx, rev, []*reconcile.Unit{u})
	if rendered[0].Err != nil {
		res.Problems = append(res.Problems, rendered[0].Err)
		return res, nil
	}
	res.Objects = len(rendered[0].Objects)
	if opts.Checks != nil {
		checker, err := opts.Checks(stack)
		if err != nil {
			return res, err
		}
		rep, err := checker.Check(ctx, rendered)
		if err != nil {
			return res, err
		}
		res.Problems = append(res.Problems, rep.Failures...)
	}
	expected := path.Join(exDir, "expected")
	if opts.Update {
		files, err := reconcile.OutputFiles(rendered[0].Objects)
		if err != nil {
			return res, err
		}
		r, err := os.OpenRoot(dir)
		if err != nil {
			return res, err
		}
		defer r.Close()
		return res, reconcile.WriteOutput(r, expected, files)
	}
	res.Diffs, err = reconcile.CompareOutput(tree, expected, rendered[0].Objects)
	return res, err
}

// readParams reads an example's parameter set (an empty file is none).
func readParams(tree fs.FS, file string) (map[string]any, error) {
	data, err := fs.ReadFile(tree, file)
	if err != nil {
		return nil, err
	}
	var with map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&with); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	return with, nil
}

// exampleStack is a stack of one unit installing the package on a target
// of the first kind it supports.
func exampleStack(m *reconcile.PackageManifest, name string) (*reconcile.Stack, error) {
	kind := "local"
	if len(m.TargetKinds) > 0 {
		kind = m.TargetKinds[0]
	}
	target := map[string]string{
		"kubernetes": "{kubernetes: {}}",
		"machines":   "{machines: {hosts: [example:22]}}",
		"local":      "{local: {root: .}}",
	}[kind]
	unit := m.Name
	if len(unit) > 40 {
		unit = unit[:40]
	}
	src := fmt.Sprintf("apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  example: %s\nunits:\n  - name: %s\n    package: {git: \"file:///example\"}\n    target: example\n", target, unit)
	s, err := reconcile.ParseStack([]byte(src), "example "+name)
	if err != nil {
		return nil, fmt.Errorf("example %s: %w", name, err)
	}
	return s, nil
}
