package notify

import (
	"context"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

var _ reconcile.Observer = (*Dispatcher)(nil)

// SourceChecked notifies a refused revision, as a failure of the stack.
func (d *Dispatcher) SourceChecked(ev reconcile.SourceEvent) {
	if ev.Refused == nil {
		return
	}
	rev := ""
	if ev.Revision != nil {
		rev = ev.Revision.ID
	}
	d.notify(Event{Kind: Failed, Unit: "stack", Revision: rev, Error: reconcile.Redact("revision refused: " + ev.Refused.Error())})
}

// UnitReconciled notifies a unit applied with changes, corrected for drift,
// or failed; a unit in sync, blocked or suspended is not news.
func (d *Dispatcher) UnitReconciled(ev reconcile.UnitEvent) {
	if ev.ChangeSet == nil && ev.Err == nil {
		return
	}
	u := ev.Unit
	ne := Event{Unit: u.Name, Target: u.Target, Revision: ev.Revision, Result: ev.ChangeSet, Time: time.Now()}
	switch {
	case ev.Err != nil:
		ne.Kind, ne.Error = Failed, reconcile.Redact(ev.Err.Error())
	case ev.Drift > 0:
		ne.Kind = DriftCorrected
	case ev.ChangeSet.HasChanges():
		ne.Kind = Applied
	default:
		return
	}
	d.notify(ne)
}

// PassCompleted is not notified.
func (d *Dispatcher) PassCompleted(reconcile.PassEvent) {}

func (d *Dispatcher) notify(ev Event) {
	_ = d.Notify(context.Background(), ev) // drops are logged by Notify
}
