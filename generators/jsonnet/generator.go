package jsonnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strings"

	gojsonnet "github.com/google/go-jsonnet"
	"github.com/google/go-jsonnet/ast"

	"github.com/stewardhq/steward/generators/internal/sandbox"
	"github.com/stewardhq/steward/reconcile"
)

// DefaultFile is evaluated when the spec names no file.
const DefaultFile = "main.jsonnet"

// Generator evaluates a unit's jsonnet file.
type Generator struct {
	spec reconcile.JsonnetGenerator
	opts Options
}

var _ reconcile.Generator = (*Generator)(nil)

// Options configure a Generator.
type Options struct {
	// MaxOutput is the largest output accepted, in bytes of JSON.
	MaxOutput int64
	// Isolate evaluates in a child process whose memory is limited to
	// MaxMemory bytes, so a program that blows up (a string doubled forty
	// times by a tailstrict recursion) fails its unit instead of killing
	// steward; jsonnet allocates it while evaluating, before any output
	// exists to cap. Errors then keep their text, file and line, not their
	// type.
	Isolate   bool
	MaxMemory int64
}

// DefaultOptions evaluate in process with a 64 MiB output cap, and allow
// 2 GiB of memory when isolated.
func DefaultOptions() Options {
	return Options{MaxOutput: sandbox.DefaultLimits().MaxOutput, MaxMemory: sandbox.DefaultLimits().MaxMemory}
}

// New returns a Generator for spec with DefaultOptions; a nil spec means
// the defaults (main.jsonnet, no variables).
func New(spec *reconcile.JsonnetGenerator) *Generator {
	return NewWithOptions(spec, DefaultOptions())
}

// NewWithOptions returns a Generator for spec with opts.
func NewWithOptions(spec *reconcile.JsonnetGenerator, opts Options) *Generator {
	g := &Generator{opts: opts}
	if spec != nil {
		g.spec = *spec
	}
	if g.spec.File == "" {
		g.spec.File = DefaultFile
	}
	return g
}

const sandboxKind = "jsonnet"

func init() {
	// In a sandbox child started for jsonnet, evaluate there and exit.
	sandbox.Serve(sandboxKind, func(spec json.RawMessage, maxOutput int64) (reconcile.Generator, error) {
		var s reconcile.JsonnetGenerator
		if err := json.Unmarshal(spec, &s); err != nil {
			return nil, err
		}
		opts := DefaultOptions()
		opts.MaxOutput = maxOutput
		return NewWithOptions(&s, opts), nil
	})
}

// Generate evaluates the file and flattens its output into objects.
func (g *Generator) Generate(ctx context.Context, req reconcile.GenerateRequest) ([]*reconcile.Object, error) {
	if g.opts.Isolate {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return sandbox.Run(ctx, sandboxKind, g.spec, req, sandbox.Limits{MaxMemory: g.opts.MaxMemory, MaxOutput: g.opts.MaxOutput})
	}
	dir := req.Dir
	if dir == "" {
		dir = "."
	}
	if path.IsAbs(g.spec.File) {
		return nil, fmt.Errorf("jsonnet file %q is absolute; it is relative to the unit path", g.spec.File)
	}
	entry := path.Join(dir, g.spec.File)
	if err := reconcile.CleanRepoPath(entry); err != nil {
		return nil, fmt.Errorf("jsonnet file %q: %w", g.spec.File, err)
	}
	jpath := make([]string, 0, len(g.spec.JPath)+len(defaultLibDirs))
	for i, p := range g.spec.JPath {
		if err := reconcile.CleanRepoPath(p); err != nil {
			return nil, fmt.Errorf("jpath[%d]: %w", i, err)
		}
		jpath = append(jpath, path.Clean(p))
	}
	jpath = append(jpath, defaultLibDirs...)

	vm := gojsonnet.MakeVM()
	vm.Importer(&treeImporter{tree: req.Tree, jpath: jpath, cache: map[string]cached{}})
	// std.trace goes to the unit's logger, never to steward's stderr
	// directly: the logger masks what a SOPS file decrypted to.
	vm.SetTraceOut(&traceWriter{logger: req.Logger})
	for k, v := range g.spec.ExtVars {
		vm.ExtVar(k, v)
	}
	// The unit's inputs are ext vars by name: std.extVar('dbHost').
	for k, v := range req.Inputs {
		if _, dup := g.spec.ExtVars[k]; dup {
			return nil, fmt.Errorf("ext var %s is also an input of the unit", k)
		}
		if _, dup := g.spec.ExtCode[k]; dup {
			return nil, fmt.Errorf("ext code %s is also an input of the unit", k)
		}
		vm.ExtVar(k, v.Value)
	}
	for k, v := range g.spec.ExtCode {
		vm.ExtCode(k, v)
	}
	for k, v := range g.spec.TLAs {
		vm.TLAVar(k, v)
	}
	for k, v := range g.spec.TLACode {
		vm.TLACode(k, v)
	}
	// A package's parameters are top-level arguments by name, as JSON
	// code so they keep their types: function(replicas=1) ...
	for k, v := range req.Params {
		if _, dup := g.spec.TLAs[k]; dup {
			return nil, fmt.Errorf("tla %s is also a parameter of the package", k)
		}
		if _, dup := g.spec.TLACode[k]; dup {
			return nil, fmt.Errorf("tla code %s is also a parameter of the package", k)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", k, err)
		}
		vm.TLACode(k, string(b))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	node, _, err := vm.ImportAST("", entry)
	if err != nil {
		return nil, evalError(err, entry)
	}
	out, err := vm.Evaluate(node)
	if err != nil {
		return nil, evalError(err, entry)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if g.opts.MaxOutput > 0 && int64(len(out)) > g.opts.MaxOutput {
		return nil, &reconcile.SourceError{File: entry, Err: fmt.Errorf("output of %d bytes exceeds %d", len(out), g.opts.MaxOutput)}
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &reconcile.SourceError{File: entry, Err: fmt.Errorf("decode output: %w", err)}
	}
	objs, err := flatten(v)
	if err != nil {
		return nil, &reconcile.SourceError{File: entry, Err: err}
	}
	if err := reconcile.CheckDuplicates(objs); err != nil {
		return nil, err
	}
	return objs, nil
}

// maxFrames bounds the calling frames quoted in a runtime error.
const maxFrames = 4

// evalError places a jsonnet error at the file:line jsonnet reports: the
// innermost frame of a runtime error (with its callers), the location of a
// static (parse) error, the entry file otherwise.
func evalError(err error, entry string) error {
	var rt gojsonnet.RuntimeError
	if errors.As(err, &rt) {
		var where *ast.LocationRange
		var callers []string
		// The trace runs from the outermost call to where the error was
		// raised.
		for i := len(rt.StackTrace) - 1; i >= 0; i-- {
			loc := &rt.StackTrace[i].Loc
			if loc.FileName == "" || loc.Begin.Line == 0 {
				continue
			}
			if where == nil {
				where = loc
				continue
			}
			if len(callers) < maxFrames {
				callers = append(callers, fmt.Sprintf("%s:%d", loc.FileName, loc.Begin.Line))
			}
		}
		msg := errors.New(strings.TrimPrefix(rt.Msg, "RUNTIME ERROR: "))
		if where == nil {
			return &reconcile.SourceError{File: entry, Err: msg}
		}
		if len(callers) > 0 {
			msg = fmt.Errorf("%w (called from %s)", msg, strings.Join(callers, ", "))
		}
		return &reconcile.SourceError{File: where.FileName, Line: where.Begin.Line, Err: msg}
	}
	var located interface{ Loc() ast.LocationRange }
	if errors.As(err, &located) {
		loc := located.Loc()
		if loc.FileName != "" {
			// The message starts with the location; SourceError has it.
			msg := strings.TrimPrefix(err.Error(), loc.String()+" ")
			return &reconcile.SourceError{File: loc.FileName, Line: loc.Begin.Line, Err: &StaticError{Msg: msg, Err: err}}
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return &reconcile.SourceError{File: entry, Err: fs.ErrNotExist}
	}
	return &reconcile.SourceError{File: entry, Err: err}
}

// StaticError is a jsonnet parse or static-check error; Err is jsonnet's own.
type StaticError struct {
	Msg string
	Err error
}

func (e *StaticError) Error() string { return e.Msg }
func (e *StaticError) Unwrap() error { return e.Err }

// traceWriter logs each std.trace line through the unit's logger.
type traceWriter struct{ logger *slog.Logger }

func (w *traceWriter) Write(p []byte) (int, error) {
	if w.logger != nil {
		for line := range strings.Lines(string(p)) {
			w.logger.Info("jsonnet trace", "message", strings.TrimSuffix(line, "\n"))
		}
	}
	return len(p), nil
}
