package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
)

// Checker is the checks stage of one stack revision, as the engine consumes
// it: built once per stack (its rules compiled once), then run over the
// units that generated. The error is only ever the context's or the stage's
// own; what the checks found is in the report.
type Checker interface {
	Check(ctx context.Context, rendered []Rendered) (*CheckReport, error)
}

// CheckerFor builds the checks stage of a stack; cmd wires checks.For.
type CheckerFor func(stack *Stack) (Checker, error)

// CheckReport is what the checks stage found in one revision.
type CheckReport struct {
	// Failures refuse the revision, each naming unit, object and rule.
	Failures Errors
	// Unchecked names objects no schema covers; they do not refuse it.
	Unchecked []string
}

// Stages are the steps Generate runs a revision through.
type Stages struct {
	// Renderer runs the generators (through its cache). Required.
	Renderer *Renderer
	// Checks builds the checks stage of the revision's stack; nil runs no
	// checks.
	Checks CheckerFor
	// StackIdentity is the identity of a stack whose file sets no name:
	// its repository URL and path (StackIdentity); cmd sets it.
	StackIdentity string
	// StackLimits bound reading steward.yaml; zero fields take defaults.
	StackLimits StackLimits
	// Inputs resolves the inputs of units that have them; nil generates
	// offline, from the outputs' example: values (see ResolveInputs).
	Inputs func(stack *Stack) InputResolver
	// Packages finds the content of package units (steward.lock); nil
	// fails every package unit.
	Packages PackageResolver
}

// Generation is a revision's stack and units, generated and checked: the one
// value `build`, `verify`, `diff`, `sync` and the daemon all start from.
type Generation struct {
	Revision *Revision
	Stack    *Stack
	// Windows are the stack's sync windows, compiled.
	Windows *Windows
	// Units are the selected units' results, in stack order.
	Units []Rendered
	// Problems are every generator failure, conflict and check failure;
	// any refuses the revision.
	Problems Errors
	// Unchecked names the objects no schema covers.
	Unchecked []string
	// Examples names the inputs given an output's example: value, one line
	// each ("unit app: input dbHost = db.address (example)").
	Examples []string
	// NotChecked says, one line each, which units read SOPS files no key
	// opened (verify without keys) and which files: their objects hold
	// ciphertext, so neither their generation's failures nor the checks
	// nor their committed output say anything about them. They are not
	// Problems and they are not checked.
	NotChecked []string
}

// Err returns the problems as one error, or nil.
func (g *Generation) Err() error {
	if len(g.Problems) == 0 {
		return nil
	}
	return g.Problems
}

// Objects returns how many objects the units generated.
func (g *Generation) Objects() int {
	n := 0
	for _, r := range g.Units {
		n += len(r.Objects)
	}
	return n
}

// Hashes returns a digest of each unit's objects, by unit name: two
// generations with equal hashes apply the same objects. A unit's digest
// comes from its Rendered.Hash when set (the cache keeps it), so an
// unchanged unit is not encoded again.
func (g *Generation) Hashes() map[string]string {
	out := make(map[string]string, len(g.Units))
	for _, r := range g.Units {
		out[r.Unit.Name] = r.digest()
	}
	return out
}

// digest returns r.Hash, or computes it when a Rendered was made without.
func (r *Rendered) digest() string {
	if r.Hash != "" {
		return r.Hash
	}
	return HashObjects(r.Objects)
}

// objectsHashed counts the objects HashObjects encoded, for tests that keep
// a one-unit change from hashing the whole estate again.
var objectsHashed atomic.Int64

// HashObjects returns a digest of objs (in order).
func HashObjects(objs []*Object) string {
	objectsHashed.Add(int64(len(objs)))
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, o := range objs {
		_ = enc.Encode(o.Object) // maps encode with sorted keys
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Generate loads the stack of rev, selects the named units (all when names is
// empty), renders them through the cache, detects conflicts and runs the
// checks. An invalid stack or an unknown unit name (*UnknownUnitError) is
// returned as the error; every other problem is collected in the
// Generation, all of them.
//
// The checks run over every unit that generated, also when another unit
// failed: one run reports every problem of the revision (the revision is
// refused all the same).
func Generate(ctx context.Context, rev *Revision, names []string, st Stages) (*Generation, error) {
	stack, err := LoadStackWith(rev.Tree, st.StackLimits)
	if err != nil {
		return nil, err
	}
	stack.SetDefaultIdentity(st.StackIdentity)
	units, err := stack.Select(names)
	if err != nil {
		return nil, err
	}
	return generateUnits(ctx, rev, stack, units, st)
}

// generateUnits runs the stages over units of stack.
func generateUnits(ctx context.Context, rev *Revision, stack *Stack, units []*Unit, st Stages) (*Generation, error) {
	windows, err := CompileWindows(stack.Windows)
	if err != nil {
		return nil, err
	}
	resolve := ResolveInputs(stack, nil, true)
	if st.Inputs != nil {
		resolve = st.Inputs(stack)
	}
	inputs := make([]Inputs, len(units))
	unresolved := usePackages(ctx, st.Packages, rev, stack, units)
	for i, u := range units {
		if unresolved[i] == nil {
			inputs[i], unresolved[i] = resolve(u)
		}
	}
	g := &Generation{Revision: rev, Stack: stack, Windows: windows, Units: st.Renderer.render(ctx, rev, units, inputs, unresolved)}
	for i, u := range units {
		for _, name := range u.InputNames() {
			if v, ok := inputs[i][name]; ok && v.Example {
				g.Examples = append(g.Examples, fmt.Sprintf("unit %s: input %s = %s (example)", u.Name, name, v.From))
			}
		}
	}
	var ok []Rendered
	for _, r := range g.Units {
		if len(r.Undecrypted) > 0 {
			g.NotChecked = append(g.NotChecked, notChecked(r)...)
			continue
		}
		if r.Err != nil {
			g.Problems = append(g.Problems, r.Err)
			continue
		}
		ok = append(ok, r)
	}
	if err := Conflicts(g.Units); err != nil {
		g.Problems = append(g.Problems, Split(err)...)
	}
	g.Problems = append(g.Problems, waveKindProblems(stack, g.Units)...)
	if st.Checks == nil {
		return g, nil
	}
	checker, err := st.Checks(stack)
	if err != nil {
		g.Problems = append(g.Problems, Split(err)...)
		return g, nil
	}
	rep, err := checker.Check(ctx, ok)
	if err != nil {
		g.Problems = append(g.Problems, err)
		return g, nil
	}
	g.Problems = append(g.Problems, rep.Failures...)
	g.Unchecked = rep.Unchecked
	return g, nil
}

// notChecked describes a unit that read SOPS files no key opened.
func notChecked(r Rendered) []string {
	out := make([]string, 0, len(r.Undecrypted)+1)
	for _, f := range r.Undecrypted {
		out = append(out, fmt.Sprintf("unit %s: %s", r.Unit.Name, f))
	}
	if r.Err != nil {
		// It failed on ciphertext: how it fares in plain text is unknown.
		out = append(out, fmt.Sprintf("unit %s: generation from ciphertext failed: %v", r.Unit.Name, errors.Unwrap(r.Err)))
	}
	return out
}

// Split returns the errors an errors.Join (or Errors) holds, or err alone.
func Split(err error) Errors {
	if m, ok := err.(interface{ Unwrap() []error }); ok {
		return Errors(slices.Clone(m.Unwrap()))
	}
	return Errors{err}
}
