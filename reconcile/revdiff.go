package reconcile

import (
	"context"
	"fmt"
	"slices"
)

// UnitDiff is what changed in one unit between two revisions.
type UnitDiff struct {
	Unit, Target string
	Changes      []ObjectChange
	Err          error // the unit failed to generate in either revision
	// NotCompared names the SOPS files no key opened, in either revision
	// (diff without keys, as in CI on a pull request), one line each. The
	// unit generated from ciphertext: when that differs between the
	// revisions or failed, its objects were not compared and the unit
	// counts as changed. When both generated the same objects it is
	// unchanged and NotCompared is empty. (A template that branches on a
	// secret value without printing it can hide a change there.)
	NotCompared []string
}

// Count returns how many changes have action a.
func (d UnitDiff) Count(a Action) int {
	n := 0
	for _, c := range d.Changes {
		if c.Action == a {
			n++
		}
	}
	return n
}

// Changed reports whether the unit changed or failed, or was not compared.
func (d UnitDiff) Changed() bool {
	return d.Err != nil || len(d.Changes) > 0 || len(d.NotCompared) > 0
}

// DiffRevisions generates base and head and compares them unit by unit: the
// named units (all when names is empty) that exist in either revision, in
// stack order. A name in neither revision is an *UnknownUnitError.
// Sensitive values are masked in the diffs.
func DiffRevisions(ctx context.Context, base, head *Revision, names []string, st Stages) ([]UnitDiff, error) {
	var gens [2]*Generation
	for i, rev := range []*Revision{base, head} {
		stack, err := LoadStackWith(rev.Tree, st.StackLimits)
		if err != nil {
			return nil, fmt.Errorf("revision %s: %w", ShortRevision(rev.ID, RevisionWidth), err)
		}
		if gens[i], err = generateUnits(ctx, rev, stack, presentUnits(stack, names), st); err != nil {
			return nil, fmt.Errorf("revision %s: %w", ShortRevision(rev.ID, RevisionWidth), err)
		}
	}
	var unknown []string
	for _, n := range names {
		if gens[0].Stack.Unit(n) == nil && gens[1].Stack.Unit(n) == nil {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return nil, &UnknownUnitError{Names: unknown, File: StackFile}
	}
	return CompareGenerations(gens[0], gens[1])
}

// presentUnits returns the named units that exist in stack (all when names
// is empty): a unit may exist in only one of two revisions.
func presentUnits(stack *Stack, names []string) []*Unit {
	all, _ := stack.Select(nil)
	if len(names) == 0 {
		return all
	}
	var out []*Unit
	for _, u := range all {
		if slices.Contains(names, u.Name) {
			out = append(out, u)
		}
	}
	return out
}

// CompareGenerations compares two generations unit by unit, in the order
// of their stacks (base's units, then those new in head).
func CompareGenerations(base, head *Generation) ([]UnitDiff, error) {
	sides := [2]map[string]Rendered{{}, {}}
	for i, g := range []*Generation{base, head} {
		for _, r := range g.Units {
			sides[i][r.Unit.Name] = r
		}
	}
	var names []string
	for _, s := range []*Stack{base.Stack, head.Stack} {
		for _, u := range s.Units {
			if slices.Contains(names, u.Name) {
				continue
			}
			_, inBase := sides[0][u.Name]
			_, inHead := sides[1][u.Name]
			if inBase || inHead {
				names = append(names, u.Name)
			}
		}
	}
	out := make([]UnitDiff, 0, len(names))
	for _, name := range names {
		b, h := sides[0][name], sides[1][name]
		d := UnitDiff{Unit: name}
		if h.Unit != nil {
			d.Target = h.Unit.Target
		} else {
			d.Target = b.Unit.Target
		}
		if nc := slices.Concat(b.Undecrypted, h.Undecrypted); len(nc) > 0 {
			d.NotCompared = notCompared(nc, b, h)
			out = append(out, d)
			continue
		}
		switch {
		case h.Err != nil:
			d.Err = fmt.Errorf("head: %w", h.Err)
		case b.Err != nil:
			d.Err = fmt.Errorf("base: %w", b.Err)
		default:
			changes, err := CompareObjects(b.Objects, h.Objects)
			if err != nil {
				return nil, err
			}
			d.Changes = changes
		}
		out = append(out, d)
	}
	return out, nil
}

// notCompared describes a unit that read SOPS files no key opened in base
// or head, or returns nil when both generated the same objects from the
// same ciphertext: equal ciphertext decrypts to equal plaintext.
func notCompared(files []string, b, h Rendered) []string {
	if b.Err == nil && h.Err == nil && b.Unit != nil && h.Unit != nil {
		if changes, err := CompareObjects(b.Objects, h.Objects); err == nil && len(changes) == 0 {
			return nil
		}
	}
	slices.Sort(files)
	return slices.Compact(files)
}
