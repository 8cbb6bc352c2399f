package reconcile

import (
	"context"
	"fmt"
)

// Suspender is a target that keeps a suspension set through the API with
// the unit's inventory, so that it survives a restart of steward.
// Collector.Inventories reports it back (InventoryInfo.Suspended).
type Suspender interface {
	SetSuspended(ctx context.Context, unit *Unit, suspended bool) error
}

// Suspend stops applying a unit until Resume. The suspension is recorded on
// the unit's target when the target can keep it (Suspender), and is then
// restored when steward restarts; the error says it could not be recorded
// (the unit is suspended in this process all the same).
// A progressive unit's name suspends every wave.
func (r *Reconciler) Suspend(ctx context.Context, unit string) error {
	return r.forWaves(unit, func(u string) error { return r.setSuspended(ctx, u, true) })
}

// Resume undoes Suspend, on the target too.
func (r *Reconciler) Resume(ctx context.Context, unit string) error {
	return r.forWaves(unit, func(u string) error { return r.setSuspended(ctx, u, false) })
}

func (r *Reconciler) setSuspended(ctx context.Context, unit string, v bool) error {
	r.mu.Lock()
	if v {
		r.suspended[unit] = true
	} else {
		delete(r.suspended, unit)
	}
	var stack *Stack
	if r.current != nil {
		stack = r.current.stack
	}
	r.mu.Unlock()
	if stack == nil {
		return nil
	}
	u := stack.Unit(unit)
	if u == nil {
		return nil
	}
	t, err := r.target(ctx, stack, u.Target)
	if err != nil {
		return err
	}
	s, ok := t.(Suspender)
	if !ok {
		return nil
	}
	if err := s.SetSuspended(ctx, u, v); err != nil {
		return fmt.Errorf("record the suspension of unit %s on target %s: %w", unit, u.Target, err)
	}
	return nil
}

// loadSuspensions restores, once per target, the suspensions recorded on
// the targets of gen's stack (a restart forgets nothing set through the
// API). A target that cannot be read now is asked again next pass.
func (r *Reconciler) loadSuspensions(ctx context.Context, gen *generation) {
	id := gen.stack.Identity()
	if id == "" {
		return
	}
	for _, name := range sortedKeys(gen.stack.Targets) {
		r.mu.Lock()
		done := r.suspLoaded[name]
		r.mu.Unlock()
		if done || !gen.stack.hasUnitsOn(name) {
			continue
		}
		t, err := r.target(ctx, gen.stack, name)
		if err != nil {
			r.opts.Logger.Warn("reading suspensions", "target", name, "error", err)
			continue
		}
		c, ok := t.(Collector)
		if !ok {
			r.mu.Lock()
			r.suspLoaded[name] = true
			r.mu.Unlock()
			continue
		}
		invs, err := c.Inventories(ctx, id)
		if err != nil {
			r.opts.Logger.Warn("reading suspensions", "target", name, "error", err)
			continue
		}
		r.mu.Lock()
		for _, inv := range invs {
			if u := gen.stack.Unit(inv.Unit); inv.Suspended && u != nil && u.Target == name {
				r.suspended[inv.Unit] = true
			}
		}
		r.suspLoaded[name] = true
		r.mu.Unlock()
	}
}

// hasUnitsOn reports whether a unit of s applies to target.
func (s *Stack) hasUnitsOn(target string) bool {
	for i := range s.Units {
		if s.Units[i].Target == target {
			return true
		}
	}
	return false
}
