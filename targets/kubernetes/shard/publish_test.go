package shard

import (
	"context"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/stewardhq/steward/reconcile"
)

// TestRemovedUnitRecordDeleted: when a unit leaves the stack, the replica
// holding its shard deletes its published record after the next pass, and
// the other replicas forget it; the records of the units still in the
// stack stay, and a replica that does not hold the shard deletes nothing.
func TestRemovedUnitRecordDeleted(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	a := startReplica(t, env, ns, "a", 2)
	eventually(t, "a holding both shards", func() bool { return len(a.Held()) == 2 })
	b := startReplica(t, env, ns, "b", 2)
	eventually(t, "a and b holding a shard each", func() bool { return len(a.Held()) == 1 && len(b.Held()) == 1 })
	owner := func(u string) *replica {
		if a.Owns(u) {
			return a
		}
		return b
	}
	// removed and sibling share shard 1; kept is on shard 0.
	kept, removed, sibling := unitOn(0, 2), unitOn(1, 2), ""
	for i := 0; sibling == ""; i++ {
		if u := unitOn(1, 2) + "-" + string(rune('a'+i)); Assign(u, 2) == 1 {
			sibling = u
		}
	}
	rev := "rev1"
	for _, u := range []string{kept, removed, sibling} {
		owner(u).UnitReconciled(reconcile.UnitEvent{Unit: &reconcile.Unit{Name: u}, Revision: rev, State: reconcile.StateReady})
	}
	for _, u := range []string{kept, removed, sibling} {
		eventually(t, "both replicas seeing "+u, func() bool {
			_, ra := a.External(u)
			_, rb := b.External(u)
			return ra && rb
		})
	}
	c := kubernetes.NewForConfigOrDie(env.Config)
	exists := func(u string) bool {
		_, err := c.CoreV1().ConfigMaps(ns).Get(context.Background(), RecordName(u), metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}

	// The replica not holding removed's shard passes a stack without it:
	// nothing of removed's shard is its to delete.
	without := &reconcile.Stack{Units: []reconcile.Unit{{Name: kept}, {Name: sibling}}}
	other := a
	if owner(removed) == a {
		other = b
	}
	other.PassCompleted(reconcile.PassEvent{Revision: "rev2", Stack: without})
	other.deleteRemoved(context.Background())
	if !exists(removed) {
		t.Fatalf("%s's record deleted by %s, which does not hold its shard", removed, other.Identity())
	}
	// The owner passes a stack without it: the record goes.
	owner(removed).PassCompleted(reconcile.PassEvent{Revision: "rev2", Stack: without})
	eventually(t, removed+"'s record deleted", func() bool { return !exists(removed) })
	eventually(t, "both replicas forgetting "+removed, func() bool {
		ra, _ := a.External(removed)
		rb, _ := b.External(removed)
		return ra == "" && rb == ""
	})
	for _, u := range []string{kept, sibling} {
		if !exists(u) {
			t.Errorf("%s's record was deleted, but %s is in the stack", u, u)
		}
	}
	// A pass without a stack (no good revision yet) deletes nothing.
	owner(kept).PassCompleted(reconcile.PassEvent{})
	// Back in the stack: republished at once.
	owner(removed).UnitReconciled(reconcile.UnitEvent{Unit: &reconcile.Unit{Name: removed}, Revision: "rev3", State: reconcile.StateReady})
	full := &reconcile.Stack{Units: []reconcile.Unit{{Name: kept}, {Name: removed}, {Name: sibling}}}
	owner(removed).PassCompleted(reconcile.PassEvent{Revision: "rev3", Stack: full})
	eventually(t, removed+" published again", func() bool { rev, ready := a.External(removed); return rev == "rev3" && ready })
	if !exists(removed) || !exists(kept) || !exists(sibling) {
		t.Errorf("records after %s came back: %v %v %v", removed, exists(kept), exists(removed), exists(sibling))
	}
}
