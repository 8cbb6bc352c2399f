package metrics

import "github.com/stewardhq/steward/reconcile"

var _ reconcile.Observer = (*Recorder)(nil)

// SourceChecked records the poll's duration and the revision in use.
func (r *Recorder) SourceChecked(ev reconcile.SourceEvent) {
	r.ObserveFetch(ev.Duration)
	if ev.Refused == nil && ev.Revision != nil && ev.Revision.ID != "" {
		r.SetRevision(ev.Revision.ID)
	}
}

// UnitReconciled records one unit's readiness and, when it was applied or
// failed, its result and drift.
func (r *Recorder) UnitReconciled(ev reconcile.UnitEvent) {
	u := ev.Unit
	r.mu.Lock()
	if r.targets == nil {
		r.targets = map[string]bool{}
	}
	r.targets[u.Target] = true
	r.mu.Unlock()
	r.SetReady(u.Name, ev.State == reconcile.StateReady)
	if ev.ChangeSet == nil && ev.Err == nil {
		return // blocked, suspended, or unchanged at a new revision
	}
	r.RecordReconcile(u.Name, u.Target, ev.ChangeSet, ev.Duration, ev.Err)
	r.SetDrift(u.Name, ev.Drift)
}

// PassCompleted forgets the series of units and targets the stack no
// longer has.
func (r *Recorder) PassCompleted(ev reconcile.PassEvent) {
	if ev.Stack == nil {
		return
	}
	r.units.retain(func(name string) bool { return ev.Stack.Unit(name) != nil })
	r.mu.Lock()
	var goneTargets []string
	for name := range r.targets {
		if _, ok := ev.Stack.Targets[name]; !ok {
			goneTargets = append(goneTargets, name)
			delete(r.targets, name)
		}
	}
	r.mu.Unlock()
	for _, name := range goneTargets {
		r.ForgetTarget(name)
	}
}
