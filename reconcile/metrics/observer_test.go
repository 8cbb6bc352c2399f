package metrics

import (
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stewardhq/steward/reconcile"
)

// As an Observer the Recorder derives every series from the engine's events
// and forgets a unit once a pass's stack no longer has it.
func TestRecorderObservesEvents(t *testing.T) {
	r := New(DefaultOptions())
	r.SourceChecked(reconcile.SourceEvent{Revision: &reconcile.Revision{ID: "abc"}})
	r.SourceChecked(reconcile.SourceEvent{Revision: &reconcile.Revision{ID: "bad"}, Refused: errors.New("refused")})
	if v := testutil.ToFloat64(r.SourceRevision.WithLabelValues("abc")); v != 1 {
		t.Errorf("revision abc = %v, want 1 (a refused revision is not in use)", v)
	}
	web, db := &reconcile.Unit{Name: "web", Target: "prod"}, &reconcile.Unit{Name: "db", Target: "prod"}
	r.UnitReconciled(reconcile.UnitEvent{Unit: web, State: reconcile.StateReady, ChangeSet: changeSet(reconcile.Created), Drift: 1})
	r.UnitReconciled(reconcile.UnitEvent{Unit: db, State: reconcile.StateFailed, Err: errors.New("boom")})
	if v := testutil.ToFloat64(r.ReconcileTotal.WithLabelValues("db", ResultFailure)); v != 1 {
		t.Errorf("db failures = %v", v)
	}
	if v := testutil.ToFloat64(r.DriftObjects.WithLabelValues("web")); v != 1 {
		t.Errorf("web drift = %v", v)
	}
	r.PassCompleted(reconcile.PassEvent{Stack: &reconcile.Stack{Units: []reconcile.Unit{*db}}})
	if n := testutil.CollectAndCount(r.UnitReady); n != 1 {
		t.Errorf("%d ready series after web left the stack, want 1", n)
	}
	if n := testutil.CollectAndCount(r.ReconcileTotal); n != 1 {
		t.Errorf("%d reconcile series after web left the stack, want 1", n)
	}
}
