package reconcile

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
)

// GeneratorFor returns the generator for a unit; cmd wires the
// implementations (no registry).
type GeneratorFor func(u *Unit) (Generator, error)

// PostProcess runs on a unit's objects right after its generator, inside the
// cached region (cmd wires machine.ResolveSources here). nil does nothing.
type PostProcess func(ctx context.Context, req GenerateRequest, objs []*Object) error

// RenderOptions configure a Renderer.
type RenderOptions struct {
	// Generators maps a unit to its generator. Required.
	Generators GeneratorFor
	// PostProcess runs after each generator; optional.
	PostProcess PostProcess
	// Cache skips generation of units whose inputs are unchanged; nil
	// disables caching.
	Cache *Cache
	// Concurrency bounds how many units generate at once.
	Concurrency int
	// GenerateTimeout bounds the generation of one unit (its generator and
	// PostProcess). A unit past it fails with a *GenerateTimeoutError, also
	// when its generator ignores the context (the renderer stops waiting
	// for it).
	GenerateTimeout time.Duration
	// Logger receives progress; nil discards.
	Logger *slog.Logger
	// Decrypter decrypts the SOPS files generators read; nil leaves them
	// encrypted, and an object that still carries SOPS metadata fails its
	// unit.
	Decrypter Decrypter
	// KeepYAML renders each generated object's YAML (MarshalObject) once
	// and keeps it with the cache entry, for a verb that prints the
	// objects (build): Rendered.YAML. Off, nothing is rendered to YAML:
	// the daemon never prints objects, and the YAML emitter was a quarter
	// of what its first pass allocated.
	KeepYAML bool
}

// DefaultRenderOptions returns options with one unit per CPU at once (set
// Generators).
func DefaultRenderOptions() RenderOptions {
	return RenderOptions{Concurrency: runtime.GOMAXPROCS(0), GenerateTimeout: DefaultGenerateTimeout, Logger: slog.New(slog.DiscardHandler)}
}

// withDefaults returns o with every zero field set from
// DefaultRenderOptions.
func (o RenderOptions) withDefaults() RenderOptions {
	def := DefaultRenderOptions()
	if o.Concurrency <= 0 {
		o.Concurrency = def.Concurrency
	}
	if o.Logger == nil {
		o.Logger = def.Logger
	}
	if o.GenerateTimeout <= 0 {
		o.GenerateTimeout = def.GenerateTimeout
	}
	return o
}

// Renderer turns the units of a revision into objects.
type Renderer struct {
	opts RenderOptions
}

// NewRenderer returns a Renderer.
func NewRenderer(opts RenderOptions) *Renderer {
	return &Renderer{opts: opts.withDefaults()}
}

// Rendered is one unit's generation result.
type Rendered struct {
	Unit *Unit
	// Objects are shared with the generation cache and with every later
	// render of the unit: they are read-only. A consumer that changes
	// objects (a target defaulting fields) works on DeepCopy's, as the
	// reconciler does before it plans.
	Objects []*Object
	// YAML holds each object as MarshalObject renders it, when the
	// renderer keeps YAML (RenderOptions.KeepYAML) and the cache has it
	// (nil otherwise).
	YAML [][]byte
	Err  error // a *UnitError
	// Hash is HashObjects(Objects), computed once per generation (kept by
	// the cache with the objects), "" when Err is set.
	Hash string
	// Inputs are the values the unit was generated with.
	Inputs Inputs
	// Decrypted names the SOPS files the generation decrypted: the unit is
	// Sensitive, its Secrets are masked in build output and output files,
	// and it is never cached on disk.
	Decrypted []string
	// Undecrypted describes the SOPS files no key opened (verify without
	// keys), each naming its file: the unit's objects hold ciphertext and
	// are not checked.
	Undecrypted []string
	Cached      bool
	Duration    time.Duration
}

// UnitError is a failure of one unit.
type UnitError struct {
	Unit string
	Err  error
}

func (e *UnitError) Error() string { return fmt.Sprintf("unit %s: %v", e.Unit, e.Err) }
func (e *UnitError) Unwrap() error { return e.Err }

// Select returns the named units of s in stack order, or all units when
// names is empty. An unknown name is an error.
func (s *Stack) Select(names []string) ([]*Unit, error) {
	if len(names) == 0 {
		out := make([]*Unit, len(s.Units))
		for i := range s.Units {
			out[i] = &s.Units[i]
		}
		return out, nil
	}
	names = s.expandNames(names)
	var unknown []string
	for _, n := range names {
		if s.Unit(n) == nil {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return nil, &UnknownUnitError{Names: unknown, File: s.File}
	}
	var out []*Unit
	for i := range s.Units {
		if slices.Contains(names, s.Units[i].Name) {
			out = append(out, &s.Units[i])
		}
	}
	return out, nil
}

// UnknownUnitError names units asked for that the stack does not have.
type UnknownUnitError struct {
	Names []string
	File  string
}

func (e *UnknownUnitError) Error() string {
	return fmt.Sprintf("no unit named %q in %s", e.Names, e.File)
}

// Render generates units of rev concurrently. Failures are per unit, in
// Rendered.Err; every unit is attempted.
func (r *Renderer) Render(ctx context.Context, rev *Revision, units []*Unit) []Rendered {
	return r.render(ctx, rev, units, nil, nil)
}

// render is Render with each unit's inputs (inputs[i] for units[i]), or
// the reason they could not be resolved (unresolved[i]): such a unit is not
// generated.
func (r *Renderer) render(ctx context.Context, rev *Revision, units []*Unit, inputs []Inputs, unresolved []error) []Rendered {
	out := make([]Rendered, len(units))
	var g errgroup.Group
	g.SetLimit(r.opts.Concurrency)
	for i, u := range units {
		if i < len(unresolved) && unresolved[i] != nil {
			out[i] = Rendered{Unit: u, Err: &UnitError{Unit: u.Name, Err: unresolved[i]}}
			continue
		}
		var in Inputs
		if i < len(inputs) {
			in = inputs[i]
		}
		g.Go(func() error {
			out[i] = r.renderUnit(ctx, rev, u, in)
			return nil
		})
	}
	_ = g.Wait() // renderUnit reports through out
	return out
}

func (r *Renderer) renderUnit(ctx context.Context, rev *Revision, u *Unit, in Inputs) Rendered {
	if u.pkg != nil {
		rev = u.pkg.Revision // a package unit generates from the package's content
	}
	start := time.Now()
	res := Rendered{Unit: u, Inputs: in}
	log := r.opts.Logger.With("unit", u.Name, "revision", rev.ID)
	// Sensitive inputs keep the generation out of the cache (and off the disk).
	if c := r.opts.Cache; c != nil && cacheable(u) && len(in.Secrets()) == 0 {
		if objs, ys, hash, decrypted, ok := c.lookup(u, in, rev, r.opts.KeepYAML); ok {
			res.Objects, res.YAML, res.Hash, res.Cached, res.Duration = objs, ys, hash, true, time.Since(start)
			res.Decrypted = decrypted
			log.Debug("generation cached", "objects", len(objs))
			return res
		}
	}
	var dec decryption
	objs, inputs, err := r.generateWithin(ctx, rev, u, in, &dec)
	res.Duration = time.Since(start)
	res.Decrypted, res.Undecrypted = dec.files, dec.undecrypted
	if err != nil {
		res.Err = &UnitError{Unit: u.Name, Err: err}
		return res
	}
	res.Objects, res.Hash = objs, HashObjects(objs)
	// A generation that holds ciphertext is not kept: with keys it would
	// be wrong. One that decrypted is kept in memory only (Cache.store).
	if c := r.opts.Cache; c != nil && cacheable(u) && len(in.Secrets()) == 0 && len(dec.undecrypted) == 0 && ctx.Err() == nil {
		res.YAML = c.store(u, in, inputs, objs, res.Hash, res.Decrypted, r.opts.KeepYAML)
	}
	log.Debug("generated", "objects", len(objs), "duration", res.Duration)
	return res
}

// decryption is what one generation decrypted, filled by generate.
type decryption struct {
	files       []string
	undecrypted []string
}

func (r *Renderer) generate(ctx context.Context, rev *Revision, u *Unit, in Inputs, dec *decryption) ([]*Object, []input, error) {
	rec := newRecordingFS(rev.Tree)
	// The decrypting tree wraps the recording one: the cache records the
	// ciphertext's digests, never the plaintext's.
	var tree fs.FS = rec
	var dt DecryptingTree
	if r.opts.Decrypter != nil {
		dt = r.opts.Decrypter.Decrypting(rec)
		tree = dt
	}
	logger := r.opts.Logger
	if dt != nil {
		logger = slog.New(&maskingHandler{h: logger.Handler(), values: dt.Plaintexts})
	}
	objs, err := r.generateFrom(ctx, tree, rev, u, in, logger)
	var plaintexts []string
	if dt != nil {
		dec.files, dec.undecrypted, plaintexts = dt.Decrypted(), dt.Undecrypted(), dt.Plaintexts()
	}
	if err != nil {
		// A generator's error may quote what it read.
		return nil, nil, maskError(err, plaintexts)
	}
	if err := checkDecrypted(objs, dec.files, plaintexts, len(dec.undecrypted) > 0); err != nil {
		return nil, nil, err
	}
	SortObjects(objs)
	if u.Generator.Command != nil {
		// A command reads the disk, not the tree: its inputs are whole paths.
		inputs, err := walkInputs(rev.Tree, rev.Dir, append([]string{u.Path}, u.ExtraPaths...))
		return objs, inputs, err
	}
	inputs := rec.inputs(rev.Dir)
	if len(u.ExtraPaths) > 0 {
		extra, err := walkInputs(rev.Tree, rev.Dir, u.ExtraPaths)
		if err != nil {
			return nil, nil, err
		}
		inputs = append(inputs, extra...)
	}
	return objs, inputs, nil
}

// generateFrom runs u's generator and the post-processing over tree.
func (r *Renderer) generateFrom(ctx context.Context, tree fs.FS, rev *Revision, u *Unit, in Inputs, logger *slog.Logger) ([]*Object, error) {
	gen, err := r.opts.Generators(u)
	if err != nil {
		return nil, err
	}
	req := GenerateRequest{Tree: tree, Dir: cleanDir(u.Path), LocalDir: rev.Dir, Unit: u, Namespace: u.EffectiveNamespace(), Revision: rev.ID, Inputs: in, Params: u.Params()}
	req.Logger = logger.With("unit", u.Name, "revision", rev.ID)
	objs, err := gen.Generate(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := CheckDuplicates(objs); err != nil {
		return nil, err
	}
	if err := checkSecretInputs(objs, in); err != nil {
		return nil, err
	}
	if r.opts.PostProcess != nil {
		if err := r.opts.PostProcess(ctx, req, objs); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

func cleanDir(p string) string {
	if p == "" {
		return "."
	}
	return path.Clean(p)
}

// ConflictError reports one object identity written by two units to the same
// target.
type ConflictError struct {
	Target string
	ID     ObjectID
	Units  [2]string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s is written by units %s and %s to target %s", e.ID, e.Units[0], e.Units[1], e.Target)
}

// Conflicts reports every object identity that two units write to the same
// target.
func Conflicts(rendered []Rendered) error {
	type key struct {
		target string
		id     ObjectID
	}
	n := 0
	for _, r := range rendered {
		n += len(r.Objects)
	}
	owner := make(map[key]string, n) // sized once: 40 000 objects grew it a dozen times
	var errs Errors
	for _, r := range rendered {
		for _, o := range r.Objects {
			k := key{r.Unit.Target, IDOf(o)}
			if first, ok := owner[k]; ok && first != r.Unit.Name {
				errs = append(errs, &ConflictError{Target: k.target, ID: k.id, Units: [2]string{first, r.Unit.Name}})
				continue
			}
			owner[k] = r.Unit.Name
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
