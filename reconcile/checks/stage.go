package checks

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"

	"github.com/stewardhq/steward/reconcile"
)

// Stage is the checks stage of one stack revision as the engine consumes it:
// the stack's rules compiled once, run over each generation of it.
type Stage struct {
	checker *Checker
	stack   *reconcile.Stack
	// machine names the units whose target applies machine kinds.
	machine map[string]bool
	// rules is the stack's checks, encoded: a unit's results are reused
	// only under the same rules.
	rules string
	// memo keeps each unit's results across the stages For builds; nil
	// checks every object every time.
	memo *memo
}

var _ reconcile.Checker = (*Stage)(nil)

// NewStage compiles the checks of stack.
func NewStage(stack *reconcile.Stack, opts Options) (*Stage, error) {
	c, err := New(stack.Checks, opts)
	if err != nil {
		return nil, err
	}
	machine := map[string]bool{}
	for _, u := range stack.Units {
		if t, ok := stack.Targets[u.Target]; ok && (t.Machines != nil || t.Local != nil) {
			machine[u.Name] = true
		}
	}
	rules, err := json.Marshal(stack.Checks)
	if err != nil {
		return nil, err
	}
	return &Stage{checker: c, stack: stack, machine: machine, rules: string(rules)}, nil
}

// For returns the reconcile.CheckerFor that builds a Stage per stack with
// opts. Its stages share what they found per unit: a revision that changes
// one unit of 10 000 checks that unit's objects, and reuses the results of
// every unit whose objects (Rendered.Hash), target kind, rules and the
// revision's CRDs are unchanged. Checking an object depends on nothing else.
func For(opts Options) reconcile.CheckerFor {
	m := &memo{units: map[string]memoEntry{}}
	return func(stack *reconcile.Stack) (reconcile.Checker, error) {
		s, err := NewStage(stack, opts)
		if err != nil {
			return nil, err
		}
		s.memo = m
		return s, nil
	}
}

// memo keeps the last results of each unit, by unit name.
type memo struct {
	mu    sync.Mutex
	units map[string]memoEntry
	// checked counts the objects checked, for tests that keep a one-unit
	// change from checking the whole estate.
	checked int
}

type memoEntry struct {
	key memoKey
	res unitResult
}

// memoKey is everything a unit's results depend on besides its name.
type memoKey struct {
	rules   string // the stack's checks
	crds    string // the units holding CRDs and their objects' hashes
	machine bool
	hash    string // the unit's objects (Rendered.Hash)
}

// Check validates the objects of the rendered units and runs the rules: each
// failure is one error of the report, and the objects no schema covers are
// its unchecked notes. Units whose results are known for the same key are
// not checked again.
func (s *Stage) Check(ctx context.Context, rendered []reconcile.Rendered) (*reconcile.CheckReport, error) {
	units := make([]UnitObjects, 0, len(rendered))
	hashes := make([]string, 0, len(rendered))
	for _, r := range rendered {
		if r.Err == nil {
			units = append(units, UnitObjects{Unit: r.Unit.Name, Objects: r.Objects, Machine: s.machine[r.Unit.Name]})
			hashes = append(hashes, r.Hash)
		}
	}
	crds := newCRDIndex(units, s.checker.selfEnv, s.checker.opts.CostLimit)
	keys, todo, res := s.recall(units, hashes, crds)
	fresh, err := s.checker.checkUnits(ctx, crds, units, todo)
	if err != nil {
		return nil, err
	}
	rep := &Report{}
	for i := range units {
		if todo[i] {
			res[i] = fresh[i]
		}
		rep.add(res[i])
	}
	rep.sort()
	s.remember(units, keys, todo, res)
	out := &reconcile.CheckReport{Unchecked: make([]string, len(rep.Unchecked))}
	for _, f := range rep.Failures {
		out.Failures = append(out.Failures, errors.New(f.String()))
	}
	for i, u := range rep.Unchecked {
		out.Unchecked[i] = u.String()
	}
	return out, nil
}

// recall returns each unit's memo key, whether it must be checked, and the
// remembered results of those that need not be.
func (s *Stage) recall(units []UnitObjects, hashes []string, crds *crdIndex) ([]memoKey, []bool, []unitResult) {
	keys, todo, res := make([]memoKey, len(units)), make([]bool, len(units)), make([]unitResult, len(units))
	var fp strings.Builder
	for _, i := range crds.units {
		fp.WriteString(units[i].Unit + "\x00" + hashes[i] + "\x00")
	}
	crdFP := fp.String()
	if s.memo == nil {
		for i := range todo {
			todo[i] = true
		}
		return keys, todo, res
	}
	s.memo.mu.Lock()
	defer s.memo.mu.Unlock()
	for i, u := range units {
		keys[i] = memoKey{rules: s.rules, crds: crdFP, machine: u.Machine, hash: hashes[i]}
		e, ok := s.memo.units[u.Unit]
		if ok && hashes[i] != "" && e.key == keys[i] {
			res[i] = e.res
			continue
		}
		todo[i] = true
	}
	return keys, todo, res
}

// remember keeps the results of the units just checked, and forgets the
// units the stack no longer has.
func (s *Stage) remember(units []UnitObjects, keys []memoKey, todo []bool, res []unitResult) {
	if s.memo == nil {
		return
	}
	s.memo.mu.Lock()
	defer s.memo.mu.Unlock()
	for i, u := range units {
		if todo[i] {
			s.memo.checked += len(u.Objects)
			if keys[i].hash != "" {
				s.memo.units[u.Unit] = memoEntry{key: keys[i], res: res[i]}
			}
		}
	}
	if len(s.memo.units) > len(s.stack.Units) {
		names := make(map[string]bool, len(s.stack.Units))
		for _, u := range s.stack.Units {
			names[u.Name] = true
		}
		for name := range s.memo.units {
			if !names[name] {
				delete(s.memo.units, name)
			}
		}
	}
}
