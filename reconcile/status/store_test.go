package status

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

func TestSnapshotIsADeepCopy(t *testing.T) {
	s := NewStore()
	cs := &reconcile.ChangeSet{Changes: []reconcile.Change{{Action: reconcile.Created}}}
	deps := []string{"a"}
	s.Set(UnitStatus{Name: "u", LastResult: cs, DependsOn: deps})
	// The caller's values changing after Set must not reach the store.
	cs.Changes[0].Action = reconcile.Failed
	deps[0] = "changed"

	snap := s.Snapshot()
	u, ok := snap.Unit("u")
	if !ok {
		t.Fatal("unit u missing from snapshot")
	}
	if u.LastResult.Changes[0].Action != reconcile.Created || u.DependsOn[0] != "a" {
		t.Fatalf("store shares memory with the caller: %+v %v", u.LastResult.Changes, u.DependsOn)
	}
	// Nor may a snapshot's reader change the store.
	snap.Units[0].LastResult.Changes[0].Action = reconcile.Deleted
	snap.Units[0].DependsOn[0] = "x"
	again, _ := s.Snapshot().Unit("u")
	if again.LastResult.Changes[0].Action != reconcile.Created || again.DependsOn[0] != "a" {
		t.Fatal("snapshot shares memory with the store")
	}
}

func TestUpdateCreatesPendingAndKeepsOrder(t *testing.T) {
	s := NewStore()
	s.Update("b", func(u *UnitStatus) {})
	s.Set(UnitStatus{Name: "a", State: StateReady})
	s.Update("b", func(u *UnitStatus) { u.Drift = 4; u.Name = "renamed-by-mistake" })
	snap := s.Snapshot()
	if len(snap.Units) != 2 || snap.Units[0].Name != "b" || snap.Units[1].Name != "a" {
		t.Fatalf("units = %+v, want b then a", snap.Units)
	}
	if b := snap.Units[0]; b.State != StatePending || b.Drift != 4 {
		t.Fatalf("b = %+v, want pending with drift 4", b)
	}
}

func TestRetain(t *testing.T) {
	s := NewStore()
	for _, n := range []string{"a", "b", "c"} {
		s.Set(UnitStatus{Name: n})
	}
	s.Retain([]string{"c", "a"})
	var names []string
	for _, u := range s.Snapshot().Units {
		names = append(names, u.Name)
	}
	if got := strings.Join(names, ","); got != "a,c" {
		t.Fatalf("units after Retain = %s, want a,c", got)
	}
}

func TestSetSource(t *testing.T) {
	s := NewStore()
	at := time.Unix(1700000000, 0)
	s.SetSource("https://user:tok3n@git.example.com/r.git", "abc", at, nil)
	s.SetSource("https://user:tok3n@git.example.com/r.git", "", at.Add(time.Minute),
		fmt.Errorf("ls-remote: %w", errors.New("GET https://user:tok3n@git.example.com/r.git/info/refs: 500")))
	snap := s.Snapshot()
	if snap.Revision != "abc" {
		t.Errorf("revision = %q, want abc kept after a failed poll", snap.Revision)
	}
	if !snap.FetchedAt.Equal(at.Add(time.Minute)) {
		t.Errorf("fetchedAt = %v", snap.FetchedAt)
	}
	if snap.SourceError == "" {
		t.Error("source error missing")
	}
	for _, f := range []string{snap.Source, snap.SourceError} {
		if strings.Contains(f, "tok3n") || strings.Contains(f, "user") {
			t.Errorf("credentials leaked into status: %q", f)
		}
	}
	s.SetSource("https://git.example.com/r.git", "def", at, nil)
	if snap := s.Snapshot(); snap.SourceError != "" || snap.Revision != "def" {
		t.Errorf("after a good poll: %+v", snap)
	}
}

func TestUnitErrorsRedacted(t *testing.T) {
	s := NewStore()
	s.Set(UnitStatus{Name: "a", LastError: "pull https://u:hunter2@h/c: 401"})
	s.Update("b", func(u *UnitStatus) { u.LastError = "push https://hunter2@h/c: denied" })
	for _, u := range s.Snapshot().Units {
		if strings.Contains(u.LastError, "hunter2") {
			t.Errorf("unit %s error leaks a credential: %q", u.Name, u.LastError)
		}
	}
}

func TestReadiness(t *testing.T) {
	s := NewStore()
	if s.Ready() {
		t.Fatal("new store is ready")
	}
	s.MarkReady()
	if !s.Ready() || !s.Snapshot().Ready {
		t.Fatal("not ready after MarkReady")
	}
	s.MarkDraining()
	if s.Ready() {
		t.Fatal("ready while draining")
	}
}

// TestConcurrentWriters runs under -race: writers and readers at once.
func TestConcurrentWriters(t *testing.T) {
	s := NewStore()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				name := fmt.Sprintf("u%d", j%10)
				if i%2 == 0 {
					s.Update(name, func(u *UnitStatus) { u.Drift++ })
				} else {
					_ = s.Snapshot()
				}
			}
		})
	}
	wg.Wait()
	total := 0
	for _, u := range s.Snapshot().Units {
		total += u.Drift
	}
	if total != 4*200 {
		t.Fatalf("sum of drift = %d, want %d: updates were lost", total, 4*200)
	}
}

// Update copies what fn hands in, and only that: the result and
// dependencies it sets are the store's own afterwards, and an update that
// leaves them (PassCompleted's, for every unit each pass) copies nothing.
func TestUpdateCopiesOnlyWhatChanged(t *testing.T) {
	s := NewStore()
	cs := &reconcile.ChangeSet{Changes: []reconcile.Change{{Action: reconcile.Created}, {Action: reconcile.Unchanged}}}
	deps := []string{"a"}
	s.Update("u", func(u *UnitStatus) { u.LastResult, u.DependsOn, u.LastError = cs, deps, "https://user:pw@example.com" })
	cs.Changes[0].Action = reconcile.Failed
	deps[0] = "changed"
	got, _ := s.Snapshot().Unit("u")
	if got.LastResult.Changes[0].Action != reconcile.Created || got.DependsOn[0] != "a" || strings.Contains(got.LastError, "pw") {
		t.Fatalf("the store shares what Update was handed, or did not redact: %+v", got)
	}
	allocs := testing.AllocsPerRun(100, func() {
		s.Update("u", func(u *UnitStatus) { u.Target, u.TargetKind = "here", "local" })
	})
	if allocs != 0 {
		t.Errorf("an update of the target allocated %.0f times, want 0 (nothing it did not change is copied)", allocs)
	}
	got, _ = s.Snapshot().Unit("u")
	if got.Target != "here" || len(got.LastResult.Changes) != 2 || got.DependsOn[0] != "a" {
		t.Errorf("after updating the target: %+v", got)
	}
}
