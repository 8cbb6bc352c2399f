package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Values flow along the DAG's edges: after a unit applied, its outputs are
// recorded on its target (RecordOutputs); before a pass applies anything,
// the units whose inputs changed since they were generated are generated
// again with the new values (and checked), so a changed output re-applies
// its dependents in dependency order, also without a new git revision. A
// pass goes on in rounds while outputs change, each round bringing the
// consumers of the changed outputs into the pass.

// PropagationOptions bound how often changed inputs re-apply a unit.
type PropagationOptions struct {
	// Debounce is the least time between two regenerations of a unit for
	// changed inputs (default 30s): a flapping output re-applies its
	// consumers at most once per Debounce.
	Debounce time.Duration
	// MaxReapplies bounds the input-driven regenerations of a unit per
	// Window (default 5 per 10m). A change held back is applied by the
	// first pass after the bound allows it.
	MaxReapplies int
	Window       time.Duration
}

func (o PropagationOptions) withDefaults() PropagationOptions {
	if o.Debounce <= 0 {
		o.Debounce = 30 * time.Second
	}
	if o.MaxReapplies <= 0 {
		o.MaxReapplies = 5
	}
	if o.Window <= 0 {
		o.Window = 10 * time.Minute
	}
	return o
}

// flowState is what the reconciler knows of outputs and inputs. Its zero
// value is ready; it has its own lock (taken after r.mu, never before).
type flowState struct {
	mu      sync.Mutex
	outputs map[string]map[string]OutputValue // recorded, by unit
	loaded  map[string]bool                   // read from the target once
	why     map[string]error                  // why a unit's outputs are missing
	gen     map[string]genInputs              // what each unit's current objects were generated with
	pending map[string]error                  // units not generated: an *InputError
	reason  map[string]string                 // "input db.address changed", until applied
	regens  map[string][]time.Time            // input-driven regenerations, for the bound
	changed bool                              // an output changed in the current round
}

type genInputs struct {
	rev    string
	digest string
	values map[string]string // input name -> value, to name what changed
	inputs Inputs
}

// unitHash is a unit's objects' hash, with its inputs: a machine File
// template renders them on the host, so equal objects with other inputs are
// a change to apply.
func unitHash(objects string, in Inputs) string {
	if len(in) == 0 {
		return objects
	}
	return HashObjects([]*Object{{Object: map[string]any{"objects": objects, "inputs": in.Digest()}}})
}

// unitInputs returns the inputs u's current objects were generated with.
func (r *Reconciler) unitInputs(u *Unit) Inputs {
	if len(u.Inputs) == 0 {
		return nil
	}
	r.flow.mu.Lock()
	defer r.flow.mu.Unlock()
	return r.flow.gen[u.Name].inputs
}

func (f *flowState) init() {
	if f.outputs == nil {
		f.outputs, f.loaded, f.why = map[string]map[string]OutputValue{}, map[string]bool{}, map[string]error{}
		f.gen, f.pending, f.reason, f.regens = map[string]genInputs{}, map[string]error{}, map[string]string{}, map[string][]time.Time{}
	}
}

// Outputs returns the outputs recorded for unit as the reconciler last saw
// them (nil when none), for status; sensitive values are the caller's to
// mask (OutputValue.Shown).
func (r *Reconciler) Outputs(unit string) map[string]OutputValue {
	r.flow.mu.Lock()
	defer r.flow.mu.Unlock()
	return maps.Clone(r.flow.outputs[unit])
}

// shownOutputs returns u's recorded outputs as status shows them: each
// sensitive value masked; nil when it declares none.
func (r *Reconciler) shownOutputs(u *Unit) map[string]string {
	if len(u.Outputs) == 0 {
		return nil
	}
	r.flow.mu.Lock()
	defer r.flow.mu.Unlock()
	out := map[string]string{}
	for name, v := range r.flow.outputs[u.Name] {
		out[name] = v.Shown()
	}
	return out
}

// liveOutputs returns the OutputSource of stack: outputs in memory, else
// read once from the unit's target.
func (r *Reconciler) liveOutputs(ctx context.Context, stack *Stack) OutputSource {
	return func(unit string) (map[string]OutputValue, error) {
		r.flow.mu.Lock()
		r.flow.init()
		outs, loaded, why := r.flow.outputs[unit], r.flow.loaded[unit], r.flow.why[unit]
		r.flow.mu.Unlock()
		if outs != nil || loaded {
			return outs, why
		}
		u := stack.Unit(unit)
		if u == nil {
			return nil, nil
		}
		t, err := r.target(ctx, stack, u.Target)
		if err != nil {
			return nil, err
		}
		st, ok := t.(OutputStore)
		if !ok {
			return nil, ErrNoOutputStore
		}
		outs, err = st.ReadOutputs(ctx, unit)
		if err != nil {
			return nil, err
		}
		r.flow.mu.Lock()
		if r.flow.outputs[unit] == nil {
			r.flow.outputs[unit] = outs
		}
		r.flow.loaded[unit] = true
		outs = r.flow.outputs[unit]
		r.flow.mu.Unlock()
		return outs, nil
	}
}

// generationStages are the reconciler's stages with inputs from live
// outputs, remembering what each unit was generated with.
func (r *Reconciler) generationStages(ctx context.Context, rev *Revision) Stages {
	st := r.opts.Stages
	st.Inputs = func(stack *Stack) InputResolver {
		resolve := ResolveInputs(stack, r.liveOutputs(ctx, stack), false)
		return func(u *Unit) (Inputs, error) {
			in, err := resolve(u)
			if len(u.Inputs) > 0 {
				r.flow.mu.Lock()
				r.flow.init()
				if err != nil {
					r.flow.pending[u.Name] = err
					delete(r.flow.gen, u.Name)
				} else {
					delete(r.flow.pending, u.Name)
					r.flow.gen[u.Name] = genInputs{rev: rev.ID, digest: in.Digest(), values: in.Values(), inputs: in}
				}
				r.flow.mu.Unlock()
			}
			return in, err
		}
	}
	return st
}

// withoutInputErrors drops the units not generated for want of an input
// from problems: they are blocked, not a reason to refuse the revision.
func withoutInputErrors(problems Errors) Errors {
	var out Errors
	for _, p := range problems {
		var ie *InputError
		if !errors.As(p, &ie) {
			out = append(out, p)
		}
	}
	return out
}

// refreshInputs regenerates, before a round of a pass, the selected units
// whose inputs changed since their objects were generated (or that could
// not be generated), within the propagation bounds. It returns the
// generation to apply, which is also made current.
func (r *Reconciler) refreshInputs(ctx context.Context, gen *generation, selected map[string]bool) *generation {
	opts := r.opts.Propagation.withDefaults()
	now := r.opts.Now()
	resolve := ResolveInputs(gen.stack, r.liveOutputs(ctx, gen.stack), false)
	var stale []*Unit
	for i := range gen.stack.Units {
		u := &gen.stack.Units[i]
		if len(u.Inputs) == 0 || !selected[u.Name] {
			continue
		}
		in, err := resolve(u)
		r.flow.mu.Lock()
		r.flow.init()
		prev, generated := r.flow.gen[u.Name]
		_, pending := r.flow.pending[u.Name]
		switch {
		case err != nil:
			r.flow.pending[u.Name] = err
		case !generated || prev.rev != gen.rev.ID || pending:
			stale = append(stale, u)
		case prev.digest != in.Digest():
			recent := slices.DeleteFunc(r.flow.regens[u.Name], func(t time.Time) bool { return now.Sub(t) >= opts.Window })
			r.flow.regens[u.Name] = recent
			if len(recent) > 0 && now.Sub(recent[len(recent)-1]) < opts.Debounce || len(recent) >= opts.MaxReapplies {
				r.opts.Logger.Info("input change held back", "unit", u.Name, "debounce", opts.Debounce, "maxReapplies", opts.MaxReapplies, "window", opts.Window)
				break
			}
			r.flow.regens[u.Name] = append(recent, now)
			r.flow.reason[u.Name] = "input " + changedInputs(u, prev.values, in) + " changed"
			stale = append(stale, u)
		}
		r.flow.mu.Unlock()
	}
	if len(stale) == 0 {
		return gen
	}
	st := r.generationStages(ctx, gen.rev)
	g, err := generateUnits(ctx, gen.rev, gen.stack, stale, st)
	if err != nil {
		r.opts.Logger.Error("regenerating for changed inputs", "error", err)
		return gen
	}
	next := &generation{Generation: &Generation{}, rev: gen.rev, stack: gen.stack, windows: gen.windows,
		objects: maps.Clone(gen.objects), hashes: maps.Clone(gen.hashes)}
	*next.Generation = *gen.Generation
	next.Units = slices.Clone(gen.Units)
	failed := map[string]error{}
	for _, p := range g.Problems {
		var ue *UnitError
		if errors.As(p, &ue) {
			failed[ue.Unit] = p
		}
	}
	for _, ren := range g.Units {
		name := ren.Unit.Name
		if ren.Err != nil || failed[name] != nil {
			err := ren.Err
			if err == nil {
				err = failed[name]
			}
			// A missing input, a generation or a check failure: the unit is
			// blocked with the reason and keeps its last objects unapplied.
			r.flow.mu.Lock()
			r.flow.pending[name] = err
			r.flow.mu.Unlock()
			continue
		}
		next.objects[name] = ren.Objects
		next.hashes[name] = unitHash(ren.digest(), ren.Inputs)
		for i := range next.Units {
			if next.Units[i].Unit.Name == name {
				next.Units[i] = ren
			}
		}
	}
	r.mu.Lock()
	if r.current == gen {
		r.current = next
	}
	r.mu.Unlock()
	return next
}

// changedInputs names the inputs whose values differ, as their sources
// ("db.address, svc.ip").
func changedInputs(u *Unit, before map[string]string, now Inputs) string {
	var out []string
	for _, name := range u.InputNames() {
		if v, ok := now[name]; ok && before[name] != v.Value {
			out = append(out, v.From.String())
		}
	}
	if len(out) == 0 {
		return "values"
	}
	return strings.Join(out, ", ")
}

// inputsBlock returns why u cannot be applied at gen for want of an input,
// or "". A unit whose objects were not generated with resolved inputs at
// gen's revision is never applied (its objects may be none).
func (r *Reconciler) inputsBlock(gen *generation, u *Unit) string {
	if len(u.Inputs) == 0 {
		return ""
	}
	r.flow.mu.Lock()
	defer r.flow.mu.Unlock()
	if err := r.flow.pending[u.Name]; err != nil {
		return err.Error()
	}
	if g, ok := r.flow.gen[u.Name]; !ok || g.rev != gen.rev.ID {
		return "not generated: inputs not resolved at this revision yet"
	}
	return ""
}

// inputsReason returns and clears why u is being applied for its inputs.
func (r *Reconciler) inputsReason(u *Unit) string {
	r.flow.mu.Lock()
	defer r.flow.mu.Unlock()
	why := r.flow.reason[u.Name]
	delete(r.flow.reason, u.Name)
	return why
}

// recordOutputs records u's outputs after a successful apply; an output
// that could not be read fails the unit (its consumers stay blocked with the
// reason). It returns the apply's outcome.
func (r *Reconciler) recordOutputs(ctx context.Context, gen *generation, u *Unit, cs *ChangeSet, err error) error {
	if len(u.Outputs) == 0 || UnitFailure(cs, err) != nil {
		return err
	}
	t, terr := r.target(ctx, gen.stack, u.Target)
	if terr != nil {
		return terr
	}
	outs, oerr := RecordOutputs(ctx, t, u)
	r.flow.mu.Lock()
	r.flow.init()
	if outs != nil || oerr == nil {
		prev := r.flow.outputs[u.Name]
		if !sameValues(prev, outs) {
			r.flow.changed = true
		}
		r.flow.outputs[u.Name] = outs
	}
	r.flow.loaded[u.Name] = true
	if oerr != nil {
		r.flow.why[u.Name] = oerr
	} else {
		delete(r.flow.why, u.Name)
	}
	r.flow.mu.Unlock()
	if oerr != nil {
		return fmt.Errorf("outputs: %w", oerr)
	}
	return nil
}

func sameValues(a, b map[string]OutputValue) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w.Value != v.Value {
			return false
		}
	}
	return true
}

// applyRounds runs applyAll in rounds: before each, units with changed
// inputs are regenerated; after it, when outputs changed, their consumers
// join the pass and another round runs (at most one per unit). Only the
// first round forces what a manual pass names; later rounds apply what is
// due (the regenerated consumers).
func (r *Reconciler) applyRounds(ctx context.Context, gen *generation, selected map[string]bool, req PassRequest) []UnitEvent {
	var events []UnitEvent
	for round := 0; ; round++ {
		gen = r.refreshInputs(ctx, gen, selected)
		r.flow.mu.Lock()
		r.flow.changed = false
		r.flow.mu.Unlock()
		events = append(events, r.applyAll(ctx, gen, selected, req)...)
		r.flow.mu.Lock()
		changed := r.flow.changed
		r.flow.mu.Unlock()
		if !changed || round >= len(gen.stack.Units) || ctx.Err() != nil {
			return lastPerUnit(events)
		}
		req = PassRequest{}
		more := false
		for _, u := range gen.stack.Units {
			r.mu.Lock()
			suspended := u.Suspend || r.suspended[u.Name]
			r.mu.Unlock()
			if len(u.Inputs) > 0 && !selected[u.Name] && !suspended && consumesSelected(&u, selected) {
				if !more {
					selected = maps.Clone(selected)
				}
				selected[u.Name], more = true, true
			}
		}
	}
}

// lastPerUnit keeps each unit's last event of the pass (a unit blocked for
// want of an input in one round may be applied in the next), in the order
// of the first.
func lastPerUnit(events []UnitEvent) []UnitEvent {
	last := map[string]int{}
	var order []string
	for i, e := range events {
		if _, seen := last[e.Unit.Name]; !seen {
			order = append(order, e.Unit.Name)
		}
		last[e.Unit.Name] = i
	}
	out := make([]UnitEvent, len(order))
	for i, name := range order {
		out[i] = events[last[name]]
	}
	return out
}

func consumesSelected(u *Unit, selected map[string]bool) bool {
	for _, name := range u.InputNames() {
		if ref, ok := ParseInputRef(u.Inputs[name]); ok && selected[ref.Unit] {
			return true
		}
	}
	return false
}
