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
	if s, _ := r.units.series("db"); s.total[1] != 1 {
		t.Errorf("db failures = %v", s.total[1])
	}
	if s, _ := r.units.series("web"); s.drift != 1 || s.set&setDrift == 0 {
		t.Errorf("web drift = %v", s.drift)
	}
	dbSeries := 0
	for _, c := range []string{"steward_unit_ready", "steward_reconcile_total", "steward_reconcile_last_duration_seconds", "steward_drift_objects"} {
		n, err := testutil.GatherAndCount(gatherer(r.Units), c)
		if err != nil {
			t.Fatal(err)
		}
		dbSeries += n / 2 // web's and db's
	}
	r.PassCompleted(reconcile.PassEvent{Stack: &reconcile.Stack{Units: []reconcile.Unit{*db}, Targets: map[string]reconcile.TargetSpec{"prod": {}}}})
	if n := testutil.CollectAndCount(r.Units); n != dbSeries {
		t.Errorf("%d unit series after web left the stack, want db's %d", n, dbSeries)
	}
	if _, ok := r.units.series("web"); ok {
		t.Error("web's series kept after it left the stack")
	}
	if n := testutil.CollectAndCount(r.ReconcileDuration); n != 1 {
		t.Errorf("%d duration histograms, want prod's", n)
	}
	r.PassCompleted(reconcile.PassEvent{Stack: &reconcile.Stack{Units: []reconcile.Unit{*db}}})
	if n := testutil.CollectAndCount(r.ReconcileDuration); n != 0 {
		t.Errorf("%d duration histograms after prod left the stack, want 0", n)
	}
}
