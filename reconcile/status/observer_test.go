package status

import (
	"errors"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

func TestObserverKeepsTheStore(t *testing.T) {
	s := NewStore()
	o := NewObserver(s, "https://u:hunter2@git.example.com/r.git?token=hunter2")
	o.SourceChecked(reconcile.SourceEvent{Revision: &reconcile.Revision{ID: "abc"}})
	web := &reconcile.Unit{Name: "web", Target: "hosts"}
	old := &reconcile.Unit{Name: "old", Target: "prod"}
	o.UnitReconciled(reconcile.UnitEvent{Unit: old, Revision: "abc", State: reconcile.StateReady})
	o.UnitReconciled(reconcile.UnitEvent{Unit: web, Revision: "abc", State: reconcile.StateFailed,
		ChangeSet: &reconcile.ChangeSet{}, Err: errors.New("push https://tok@h/x: denied")})
	if snap := s.Snapshot(); snap.Ready {
		t.Fatal("ready before a pass completed")
	}
	stack := &reconcile.Stack{
		Targets: map[string]reconcile.TargetSpec{"hosts": {Machines: &reconcile.MachinesTarget{}}},
		Units:   []reconcile.Unit{*web},
	}
	o.PassCompleted(reconcile.PassEvent{Stack: stack})
	snap := s.Snapshot()
	if !snap.Ready || snap.Source != "https://git.example.com/r.git?token=***" || snap.Revision != "abc" {
		t.Fatalf("source: %+v", snap)
	}
	if len(snap.Units) != 1 {
		t.Fatalf("units %+v, want web only (old left the stack)", snap.Units)
	}
	u := snap.Units[0]
	if u.Name != "web" || u.State != "failed" || u.Ready || u.TargetKind != "machines" || u.LastError != "push https://h/x: denied" {
		t.Fatalf("web: %+v", u)
	}
}

// Outputs reach the status as the reconciler shows them, and the page
// lists them.
func TestObserverOutputs(t *testing.T) {
	store := NewStore()
	o := NewObserver(store, "repo")
	u := &reconcile.Unit{Name: "db", Target: "hosts"}
	o.UnitReconciled(reconcile.UnitEvent{Unit: u, State: reconcile.StateReady, Outputs: map[string]string{"address": "10.0.0.5", "password": reconcile.MaskSame}})
	got := store.Snapshot().Units[0].Outputs
	if got["address"] != "10.0.0.5" || got["password"] != reconcile.MaskSame {
		t.Fatalf("outputs = %v", got)
	}
	// A later event without outputs (blocked, suspended) keeps them.
	o.UnitReconciled(reconcile.UnitEvent{Unit: u, State: reconcile.StateBlocked})
	if got := store.Snapshot().Units[0].Outputs; got["address"] != "10.0.0.5" {
		t.Fatalf("outputs after a blocked event = %v", got)
	}
}
