package status

import (
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// Observer keeps a Store up to date from the reconciler's events.
type Observer struct {
	store  *Store
	source string
	now    func() time.Time
}

var _ reconcile.Observer = (*Observer)(nil)

// NewObserver returns an Observer writing to store; source names the
// repository followed (credentials are removed).
func NewObserver(store *Store, source string) *Observer {
	return &Observer{store: store, source: source, now: time.Now}
}

// SourceChecked records the poll: the revision, or why it failed or was
// refused.
func (o *Observer) SourceChecked(ev reconcile.SourceEvent) {
	rev := ""
	if ev.Revision != nil {
		rev = ev.Revision.ID
	}
	err := ev.Err
	if ev.Refused != nil {
		err = ev.Refused
	}
	o.store.SetSource(o.source, rev, o.now(), err)
}

// UnitReconciled records one unit's outcome.
func (o *Observer) UnitReconciled(ev reconcile.UnitEvent) {
	u, now := ev.Unit, o.now()
	o.store.Update(u.Name, func(s *UnitStatus) {
		s.Target = u.Target
		s.DependsOn = u.DependsOn
		s.LastAttemptedRevision = ev.Revision
		s.State = string(ev.State)
		s.Ready = ev.State == reconcile.StateReady
		s.Message = ev.Reason
		s.NextRun = ev.NextRun
		s.LastError = ""
		if ev.Err != nil {
			s.LastError = ev.Err.Error()
		}
		if ev.Outputs != nil {
			s.Outputs = ev.Outputs
		}
		if ev.ChangeSet != nil {
			s.LastResult = ev.ChangeSet
			s.LastAttempt = now
			s.Drift = ev.Drift
		}
		if s.Ready {
			s.Revision = ev.Revision
			if ev.ChangeSet != nil {
				s.LastSuccess = now
			}
		}
	})
	o.releaseLine(ev)
}

// PassCompleted lists every unit of the stack (in stack order, with its
// target and kind), drops units removed from it, and marks the store ready.
func (o *Observer) PassCompleted(ev reconcile.PassEvent) {
	if s := ev.Stack; s != nil {
		names := make([]string, len(s.Units))
		for i, u := range s.Units {
			names[i] = u.Name
			o.store.Update(u.Name, func(st *UnitStatus) {
				st.Target, st.DependsOn = u.Target, u.DependsOn
				st.TargetKind = s.Targets[u.Target].Kind()
			})
		}
		o.store.Retain(names)
	}
	o.store.AddRemoved(ev.Removed)
	o.store.MarkReady()
}
