package status

import (
	"errors"
	"slices"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

// What became of removed units reaches the snapshot, the newest report of
// a unit replacing its older one.
func TestStoreRemoved(t *testing.T) {
	s := NewStore()
	s.AddRemoved([]reconcile.Removal{{Unit: "a", Target: "prod", Err: errors.New("would delete all 2 objects of unit a")}})
	s.AddRemoved([]reconcile.Removal{
		{Unit: "a", Target: "prod", ChangeSet: &reconcile.ChangeSet{}},
		{Unit: "c", Target: "prod", LeftInPlace: []reconcile.ObjectID{{Kind: "ConfigMap", Namespace: "app", Name: "w"}}},
	})
	want := []string{
		"unit a (removed from the stack) on target prod: 0 objects pruned, inventory dropped",
		"unit c (removed from the stack) on target prod: inventory dropped; left in place: ConfigMap/app/w",
	}
	if got := s.Snapshot().Removed; !slices.Equal(got, want) {
		t.Fatalf("removed = %q, want %q", got, want)
	}
}
