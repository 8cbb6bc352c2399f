package main

import (
	"context"
	"time"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/metrics"
	"github.com/stewardhq/steward/reconcile/notify"
	"github.com/stewardhq/steward/reconcile/status"
)

// daemonObserver turns the reconciler's events into status, metrics and
// notifications: one value, three views.
type daemonObserver struct {
	source   string
	store    *status.Store
	metrics  *metrics.Recorder
	notifier *notify.Dispatcher // nil: no notifications
	stack    func() *reconcile.Stack
}

var _ reconcile.Observer = (*daemonObserver)(nil)

func (o *daemonObserver) SourceChecked(ev reconcile.SourceEvent) {
	o.metrics.ObserveFetch(ev.Duration)
	rev := ""
	if ev.Revision != nil {
		rev = ev.Revision.ID
	}
	err := ev.Err
	if ev.Refused != nil {
		err = ev.Refused
		o.notify(notify.Event{Kind: notify.Failed, Unit: "stack", Revision: rev, Error: "revision refused: " + ev.Refused.Error()})
	} else if rev != "" {
		o.metrics.SetRevision(rev)
	}
	o.store.SetSource(o.source, rev, time.Now(), err)
}

func (o *daemonObserver) UnitReconciled(ev reconcile.UnitEvent) {
	u := ev.Unit
	now := time.Now()
	o.store.Update(u.Name, func(s *status.UnitStatus) {
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
	o.metrics.SetReady(u.Name, ev.State == reconcile.StateReady)
	if ev.ChangeSet == nil && ev.Err == nil {
		return // blocked, suspended, or unchanged at a new revision
	}
	o.metrics.RecordReconcile(u.Name, u.Target, ev.ChangeSet, ev.Duration, ev.Err)
	o.metrics.SetDrift(u.Name, ev.Drift)
	ne := notify.Event{Unit: u.Name, Target: u.Target, Revision: ev.Revision, Result: ev.ChangeSet, Time: now}
	switch {
	case ev.Err != nil:
		ne.Kind, ne.Error = notify.Failed, ev.Err.Error()
	case ev.Drift > 0:
		ne.Kind = notify.DriftCorrected
	case ev.ChangeSet.HasChanges():
		ne.Kind = notify.Applied
	default:
		return
	}
	o.notify(ne)
}

func (o *daemonObserver) PassCompleted(reconcile.PassEvent) {
	if s := o.stack(); s != nil {
		names := make([]string, len(s.Units))
		for i, u := range s.Units {
			names[i] = u.Name
			o.store.Update(u.Name, func(st *status.UnitStatus) {
				st.Target, st.DependsOn = u.Target, u.DependsOn
				st.TargetKind = targetKind(s.Targets[u.Target])
			})
		}
		before := o.store.Snapshot().Units
		o.store.Retain(names)
		for _, u := range before {
			if s.Unit(u.Name) == nil {
				o.metrics.ForgetUnit(u.Name) // removed from the stack
			}
		}
	}
	o.store.MarkReady()
}

func (o *daemonObserver) notify(ev notify.Event) {
	if o.notifier != nil {
		_ = o.notifier.Notify(context.Background(), ev) // drops are logged by the dispatcher
	}
}

func targetKind(t reconcile.TargetSpec) string {
	switch {
	case t.Kubernetes != nil:
		return "kubernetes"
	case t.Machines != nil:
		return "machines"
	case t.Local != nil:
		return "local"
	}
	return ""
}
