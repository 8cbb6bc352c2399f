package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Collector is a target that can find and remove what units a stack no
// longer declares left on it: their inventories.
type Collector interface {
	// Inventories lists the units of stack that keep an inventory on the
	// target, with the prune and allowEmpty they were last applied with.
	// Other stacks' inventories are never listed.
	Inventories(ctx context.Context, stack string) ([]InventoryInfo, error)
	// DropInventory removes the inventory of unit of stack and returns the
	// objects it recorded; another stack's is refused.
	DropInventory(ctx context.Context, unit, stack string) ([]ObjectID, error)
}

// InventoryInfo is one unit's inventory on a target.
type InventoryInfo struct {
	Unit       string
	Prune      bool
	AllowEmpty bool
	// Suspended is a suspension set through the API (Suspender).
	Suspended bool
}

// Removal is what became of a unit removed from the stack, on one target.
type Removal struct {
	Unit   string
	Target string
	// ChangeSet is the prune of its objects (a unit applied with prune),
	// nil otherwise.
	ChangeSet *ChangeSet
	// LeftInPlace are the objects it had that were not deleted: all of
	// them for a unit without prune.
	LeftInPlace []ObjectID
	Err         error
}

// String says what happened, for logs and status.
func (r Removal) String() string {
	msg := fmt.Sprintf("unit %s (removed from the stack) on target %s: ", r.Unit, r.Target)
	if r.Err != nil {
		return msg + r.Err.Error()
	}
	if r.ChangeSet != nil {
		msg += fmt.Sprintf("%d objects pruned, ", r.ChangeSet.Count(Deleted))
	}
	msg += "inventory dropped"
	if len(r.LeftInPlace) > 0 {
		ids := make([]string, len(r.LeftInPlace))
		for i, id := range r.LeftInPlace {
			ids[i] = id.String()
		}
		msg += "; left in place: " + strings.Join(ids, ", ")
	}
	return msg
}

// collect garbage-collects units of gen's stack identity that keep an
// inventory on one of its targets but are no longer in the stack. It runs
// after the pass applied the revision's units, once per revision, on the
// targets whose units are all ready at this revision (an object another
// unit now declares is then already that unit's, and is adopted rather
// than deleted). A unit applied with prune has its objects pruned, under
// GuardPrune; one without has its inventory dropped and its objects left.
// A target whose units are not all ready is tried again on the next pass.
func (r *Reconciler) collect(ctx context.Context, gen *generation) []Removal {
	id := gen.stack.Identity()
	if id == "" {
		return nil // without an identity, another stack's units cannot be told apart
	}
	r.mu.Lock()
	done := r.collected[gen.rev.ID]
	var names []string
	for _, name := range sortedKeys(gen.stack.Targets) {
		if !done[name] && r.targetSettled(gen, name) {
			names = append(names, name)
		}
	}
	r.mu.Unlock()
	var out []Removal
	for _, name := range names {
		rm, err := r.collectTarget(ctx, gen, name)
		if err != nil {
			r.opts.Logger.Warn("listing inventories of removed units", "target", name, "error", err)
			continue // tried again next pass
		}
		out = append(out, rm...)
		failed := slices.ContainsFunc(rm, func(x Removal) bool { return x.Err != nil })
		if !failed {
			r.mu.Lock()
			if r.collected[gen.rev.ID] == nil {
				clear(r.collected) // only the current revision is remembered
				r.collected[gen.rev.ID] = map[string]bool{}
			}
			r.collected[gen.rev.ID][name] = true
			r.mu.Unlock()
		}
	}
	for _, rm := range out {
		if rm.Err != nil {
			r.opts.Logger.Error("removed unit not collected", "unit", rm.Unit, "target", rm.Target, "error", rm.Err)
		} else {
			r.opts.Logger.Info("removed unit collected", "unit", rm.Unit, "target", rm.Target, "result", rm.String())
		}
	}
	return out
}

// targetSettled reports whether every unit of gen on target is ready at
// gen's revision (r.mu held).
func (r *Reconciler) targetSettled(gen *generation, target string) bool {
	for _, u := range gen.stack.Units {
		if u.Target != target {
			continue
		}
		st := r.units[u.Name]
		if st == nil || !st.ready || st.appliedHash != gen.hashes[u.Name] {
			return false
		}
	}
	return true
}

func (r *Reconciler) collectTarget(ctx context.Context, gen *generation, name string) ([]Removal, error) {
	t, err := r.target(ctx, gen.stack, name)
	if err != nil {
		return nil, err
	}
	c, ok := t.(Collector)
	if !ok {
		return nil, nil
	}
	id := gen.stack.Identity()
	invs, err := c.Inventories(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", name, err)
	}
	var out []Removal
	for _, inv := range invs {
		if gen.stack.Unit(inv.Unit) != nil {
			continue
		}
		out = append(out, r.collectUnit(ctx, gen, t, c, name, inv))
	}
	return out, nil
}

func (r *Reconciler) collectUnit(ctx context.Context, gen *generation, t Target, c Collector, target string, inv InventoryInfo) Removal {
	rm := Removal{Unit: inv.Unit, Target: target}
	u := &Unit{Name: inv.Unit, Target: target, Prune: inv.Prune, AllowEmpty: inv.AllowEmpty, stack: gen.stack.Identity()}
	if inv.Prune {
		plan, err := t.Plan(ctx, ApplyRequest{Unit: u, Revision: gen.rev.ID})
		if err != nil {
			rm.Err = fmt.Errorf("plan: %w", err)
			return rm
		}
		if !MassPruneAllowed(ctx) {
			if err := GuardPrune(u, plan); err != nil {
				var me *MassPruneError
				if errors.As(err, &me) {
					me.Removed = true
				}
				rm.Err = err
				return rm
			}
		}
		cs, err := t.Apply(ctx, plan)
		rm.ChangeSet = cs
		if err = UnitFailure(cs, Aborted(err)); err != nil {
			rm.Err = fmt.Errorf("prune: %w", err)
			return rm
		}
	}
	left, err := c.DropInventory(ctx, inv.Unit, gen.stack.Identity())
	if err != nil {
		rm.Err = fmt.Errorf("drop inventory: %w", err)
		return rm
	}
	if !inv.Prune {
		rm.LeftInPlace = left
	} else if rm.ChangeSet != nil {
		for _, ch := range rm.ChangeSet.Changes {
			if ch.Action != Deleted && !slices.Contains(rm.LeftInPlace, ch.Object) {
				rm.LeftInPlace = append(rm.LeftInPlace, ch.Object)
			}
		}
	}
	return rm
}
