package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// applyAll reconciles the selected units of gen in dependency order: a unit
// starts when everything it depends on has finished in this pass and is
// ready at this revision; independent units run concurrently, bounded.
// Only units with something to do are visited (see idle), and at most
// Concurrency goroutines run at once, started as units become ready
// (Kahn's order): a pass costs what it does, not the size of the estate.
// Cancelling ctx stops starting units; those applying finish.
func (r *Reconciler) applyAll(ctx context.Context, gen *generation, selected map[string]bool, req PassRequest) []UnitEvent {
	units := gen.stack.Units
	forced := map[string]bool{}
	if req.Manual {
		for _, n := range req.Units {
			forced[n] = true
		}
		if len(req.Units) == 0 {
			for n := range selected {
				forced[n] = true
			}
		}
	}
	visit, changed := r.toVisit(gen, selected, forced)
	pos := make(map[string]int, len(visit)) // unit name -> index in visit
	for k, i := range visit {
		pos[units[i].Name] = k
	}
	waiting := make([]int, len(visit))      // unfinished dependencies
	dependents := make([][]int, len(visit)) // by index in visit
	var ready, later []int                  // units whose objects changed start first
	for k, i := range visit {
		for _, d := range units[i].DependsOn {
			if j, ok := pos[d]; ok {
				waiting[k]++
				dependents[j] = append(dependents[j], k)
			}
		}
		if j, ok := pos[units[i].orderAfter()]; ok {
			waiting[k]++
			dependents[j] = append(dependents[j], k)
		}
		switch {
		case waiting[k] > 0:
		case changed[k]:
			ready = append(ready, k)
		default:
			later = append(later, k)
		}
	}
	ready = append(ready, later...)
	events := make([]*UnitEvent, len(units))
	sem := make(chan struct{}, r.opts.Concurrency)
	finished := make(chan int)
	running := 0
	r.sched.newPass()
	for len(ready) > 0 || running > 0 {
		for len(ready) > 0 && running < r.opts.Concurrency {
			k := ready[0]
			ready = ready[1:]
			running++
			i := visit[k]
			u := &units[i]
			r.sched.started(running, u.Name)
			go func() {
				if ev := r.reconcileUnit(ctx, gen, u, forced[u.Name], req.Manual, sem); ev != nil {
					events[i] = ev
					r.opts.Observer.UnitReconciled(*ev)
				}
				finished <- k
			}()
		}
		k := <-finished
		running--
		for _, c := range dependents[k] {
			if waiting[c]--; waiting[c] == 0 {
				ready = append(ready, c)
			}
		}
	}
	var out []UnitEvent
	for _, e := range events {
		if e != nil {
			out = append(out, *e)
		}
	}
	return out
}

// toVisit returns the indices, in stack order, of the selected units that
// have something to do now (not idle, or forced), and for each whether its
// objects differ from those last applied: a revision changing one unit of
// 10 000 applies it first and does the bookkeeping of the rest after.
func (r *Reconciler) toVisit(gen *generation, selected, forced map[string]bool) (visit []int, changed []bool) {
	now := r.opts.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range gen.stack.Units {
		u := &gen.stack.Units[i]
		if !r.owns(u.Name) {
			delete(r.units, u.Name) // another replica's: due here at once should it come back
			continue
		}
		if selected[u.Name] && (forced[u.Name] || !r.idle(gen, u, now)) {
			st := r.units[u.Name]
			visit = append(visit, i)
			changed = append(changed, st == nil || st.appliedHash != gen.hashes[u.Name])
		}
	}
	return visit, changed
}

// idle reports whether reconcileUnit would do nothing for u at now (r.mu
// held): not suspended, not due, and not unchanged at a new revision.
func (r *Reconciler) idle(gen *generation, u *Unit, now time.Time) bool {
	st := r.units[u.Name]
	if st == nil || u.Suspend || r.suspended[u.Name] || !now.Before(r.dueAt(u)) {
		return false
	}
	return !(st.ready && st.appliedHash == gen.hashes[u.Name] && st.appliedRevision != gen.rev.ID)
}

// schedStats counts the scheduler's work, for tests that keep a pass's cost
// proportional to the units it has to do something for.
type schedStats struct {
	mu     sync.Mutex
	visits int    // reconcileUnit calls
	peak   int    // most units in flight at once
	first  string // the unit the last pass started first
}

func (s *schedStats) newPass() {
	s.mu.Lock()
	s.first = ""
	s.mu.Unlock()
}

func (s *schedStats) started(running int, unit string) {
	s.mu.Lock()
	s.visits++
	s.peak = max(s.peak, running)
	if s.first == "" {
		s.first = unit
	}
	s.mu.Unlock()
}

// reconcileUnit applies one unit if it is due and may be applied; it
// returns nil when there was nothing to do.
func (r *Reconciler) reconcileUnit(ctx context.Context, gen *generation, u *Unit, forced, manual bool, sem chan struct{}) *UnitEvent {
	now := r.opts.Now()
	r.mu.Lock()
	st := r.units[u.Name]
	if st == nil {
		st = &unitState{}
		r.units[u.Name] = st
	}
	suspended := u.Suspend || r.suspended[u.Name]
	due := forced || !now.Before(r.dueAt(u))
	blockedBy := r.unreadyDependency(gen, u)
	r.mu.Unlock()

	ev := &UnitEvent{Unit: u, Revision: gen.rev.ID}
	switch {
	case suspended:
		return r.settle(ev, st, gen, StateSuspended, "suspended", time.Time{})
	case !due && st.ready && st.appliedHash == gen.hashes[u.Name] && st.appliedRevision != gen.rev.ID:
		// Unchanged at a new revision: already what it asks for.
		r.mu.Lock()
		st.appliedRevision = gen.rev.ID
		r.mu.Unlock()
		ev.State, ev.Reason, ev.NextRun = StateReady, "unchanged at this revision", r.nextRun(u)
		return ev
	case !due:
		return nil
	case blockedBy != "":
		return r.settle(ev, st, gen, StateBlocked, blockedBy, now.Add(r.opts.RetryMin))
	}
	var rel *releaseView
	retryHeld := false
	if u.wave != nil {
		var why string
		var retry time.Time
		rel, why, retry, retryHeld = r.releaseGate(ctx, gen, u, ev)
		if why != "" {
			return r.settle(ev, st, gen, StateBlocked, why, retry)
		}
	}
	if why := r.inputsBlock(gen, u); why != "" {
		return r.settle(ev, st, gen, StateBlocked, why, now.Add(r.opts.RetryMin))
	}
	if ok, why := gen.windows.Allowed(u.Name, now, manual && forced); !ok {
		return r.settle(ev, st, gen, StateBlocked, why, now.Add(time.Minute))
	}
	if ctx.Err() != nil {
		return nil // shutting down: start nothing new (select below picks at random)
	}
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil // shutting down: not started, state unchanged
	}
	defer func() { <-sem }()
	// The apply runs to its end even when ctx is cancelled (graceful stop),
	// not when another replica may be taking the unit over.
	held, release, err := r.holdForApply(context.WithoutCancel(ctx), u)
	if err != nil {
		return r.settle(ev, st, gen, StateBlocked, "not applied: "+err.Error(), now.Add(r.opts.RetryMin))
	}
	defer release()
	// A manual sync of the unit, like a resumed release, applies again a
	// revision its targets hold back after it failed a health check there.
	if retryHeld || (manual && forced) {
		held = RetryHeld(held)
	}
	cs, err := r.apply(held, gen, u)
	err = r.recordOutputs(context.WithoutCancel(ctx), gen, u, cs, err)
	ev.Reason = r.inputsReason(u)
	ev.Outputs = r.shownOutputs(u)
	r.record(ev, st, gen, u, cs, err, now)
	if rel != nil {
		r.markWave(context.WithoutCancel(ctx), gen, u, rel, st, ev)
	}
	r.log(ev)
	return ev
}

// log writes one line per applied unit: what changed, drift, or the error.
func (r *Reconciler) log(ev *UnitEvent) {
	var extra []any
	msg, level := "unit in sync", slog.LevelDebug
	switch {
	case ev.Err != nil:
		msg, level, extra = "unit failed", slog.LevelError, []any{"error", ev.Err, "retry", ev.NextRun}
	case ev.Drift > 0:
		msg, level, extra = "drift corrected", slog.LevelWarn, []any{"drift", ev.Drift}
	case ev.ChangeSet != nil && ev.ChangeSet.HasChanges():
		msg, level = "unit applied", slog.LevelInfo
	}
	// Most units of a pass are in sync, logged at a level mostly off:
	// their attributes are not built then.
	if !r.opts.Logger.Enabled(context.Background(), level) {
		return
	}
	attrs := []any{"unit", ev.Unit.Name, "target", ev.Unit.Target, "revision", ev.Revision, "duration", ev.Duration.Round(time.Millisecond)}
	if cs := ev.ChangeSet; cs != nil {
		attrs = append(attrs, "created", cs.Count(Created), "configured", cs.Count(Configured), "deleted", cs.Count(Deleted), "unchanged", cs.Count(Unchanged))
	}
	r.opts.Logger.Log(context.Background(), level, msg, append(attrs, extra...)...)
}

// unreadyDependency names the first dependency of u not ready at gen's
// revision, or "" (r.mu held).
func (r *Reconciler) unreadyDependency(gen *generation, u *Unit) string {
	for _, d := range u.DependsOn {
		if !r.owns(d) {
			if ok, why := r.externalReady(gen, d); !ok {
				return fmt.Sprintf("waiting for dependency %s on another replica (%s) at revision %s", d, why, ShortRevision(gen.rev.ID, RevisionWidth))
			}
			continue
		}
		st := r.units[d]
		if st == nil || !st.ready || st.appliedHash != gen.hashes[d] {
			state := "not applied"
			if st != nil && st.state != "" {
				state = string(st.state)
			}
			return fmt.Sprintf("waiting for dependency %s (%s) at revision %s", d, state, ShortRevision(gen.rev.ID, RevisionWidth))
		}
	}
	return ""
}

func (r *Reconciler) settle(ev *UnitEvent, st *unitState, gen *generation, state UnitState, reason string, retry time.Time) *UnitEvent {
	r.mu.Lock()
	st.state = state
	if state == StateBlocked {
		st.attemptedRevision, st.attemptedHash = gen.rev.ID, gen.hashes[ev.Unit.Name]
	}
	if !retry.IsZero() {
		st.nextRetry = retry
	}
	r.mu.Unlock()
	ev.State, ev.Reason, ev.NextRun = state, reason, retry
	return ev
}

func (r *Reconciler) apply(ctx context.Context, gen *generation, u *Unit) (*ChangeSet, error) {
	t, err := r.target(ctx, gen.stack, u.Target)
	if err != nil {
		return nil, err
	}
	objs := targetObjects(t, gen.objects[u.Name])
	plan, err := t.Plan(ctx, ApplyRequest{Unit: u, Revision: gen.rev.ID, Objects: objs, Inputs: r.unitInputs(u)})
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	if u.Prune && !MassPruneAllowed(ctx) {
		if err := GuardPrune(u, plan); err != nil {
			return nil, err
		}
	}
	cs, err := t.Apply(ctx, plan)
	if err = Aborted(err); err != nil {
		return cs, fmt.Errorf("apply: %w", err)
	}
	return cs, nil
}

// record updates the unit's state from an apply and fills ev.
func (r *Reconciler) record(ev *UnitEvent, st *unitState, gen *generation, u *Unit, cs *ChangeSet, err error, start time.Time) {
	now := r.opts.Now()
	ev.ChangeSet, ev.Duration = cs.CapDiffs(r.opts.Diffs), now.Sub(start)
	err = UnitFailure(cs, err)
	r.mu.Lock()
	defer r.mu.Unlock()
	hash := gen.hashes[u.Name]
	st.attemptedRevision, st.attemptedHash = gen.rev.ID, hash
	if err != nil {
		st.failures++
		st.ready = false
		st.state = StateFailed
		st.nextRetry = now.Add(r.backoff(st.failures))
		ev.State, ev.Err, ev.NextRun = StateFailed, err, st.nextRetry
		return
	}
	if st.appliedHash == hash && st.appliedRevision != "" && cs != nil {
		for _, c := range cs.Changes {
			switch c.Action {
			case Created, Configured, Deleted:
				ev.Drift++
			}
		}
	}
	st.appliedRevision, st.appliedHash = gen.rev.ID, hash
	st.ready, st.failures, st.lastApply, st.state = true, 0, now, StateReady
	ev.State = StateReady
	ev.NextRun = r.dueAt(u)
}

func (r *Reconciler) nextRun(u *Unit) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dueAt(u)
}

// targetObjects returns the objects to hand t: copies, as a target may
// default fields in place, unless t only reads them (ObjectReader).
func targetObjects(t Target, src []*Object) []*Object {
	if _, ok := t.(ObjectReader); ok {
		return slices.Clone(src)
	}
	objs := make([]*Object, len(src))
	for i, o := range src {
		objs[i] = o.DeepCopy()
	}
	return objs
}
