package kubernetes

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/stewardhq/steward/reconcile"
)

// Planning runs in three steps, as gitops-engine's sync/reconcile.go does:
// gather (gather.go: the inventory, one LIST per kind and namespace, the
// live state of stale entries), decide (this file: pure, desired × live ×
// inventory → actions, no API server), and dry-run (dryrun.go: the server
// decides what the pure step cannot vouch for).

// decideOptions are the target settings the decision reads.
type decideOptions struct {
	// DryRunNew dry-runs objects the live view says are new, instead of
	// planning them as created.
	DryRunNew bool
	// FieldManager is steward's field manager: its managed fields are what
	// the inventory fingerprints.
	FieldManager string
}

func (t *Target) decideOptions() decideOptions {
	return decideOptions{DryRunNew: t.opts.DryRunNew, FieldManager: t.opts.FieldManager}
}

// decide sets the action of each desired object that the live view and the
// old inventory can vouch for, and returns the indexes of those only a
// server-side dry-run can decide, with the namespaces this plan creates. It
// reads nothing and changes nothing but objs.
func decide(objs []*planned, lv *liveObjects, old inventory, o decideOptions) (dry []int, creating map[string]bool) {
	creating = map[string]bool{}
	for _, p := range objs {
		if utils.IsNamespace(p.obj) && lv.objs[p.id] == nil {
			creating[p.obj.GetName()] = true
		}
	}
	for i, p := range objs {
		if p.change.Action == reconcile.Failed {
			continue
		}
		p.desired = desiredFingerprint(p.obj, p.force)
		if p.mapping == nil {
			p.change.Action = reconcile.Created
			p.change.Message = "after its CustomResourceDefinition"
			p.change.Diff = objectDiff(p.id, nil, p.obj)
			continue
		}
		known := lv.knows(p)
		live := lv.objs[p.id]
		switch {
		case known && live == nil && !o.DryRunNew:
			p.change.Action = reconcile.Created
			p.change.Diff = objectDiff(p.id, nil, p.obj)
		case live != nil && unchanged(old, p, live, o.FieldManager):
			p.change.Action = reconcile.Unchanged
		default:
			dry = append(dry, i)
		}
	}
	return dry, creating
}

// unchanged reports whether the inventory vouches for live: steward sends
// what it sent last time and the fields it manages are as it left them.
func unchanged(old inventory, p *planned, live *unstructured.Unstructured, manager string) bool {
	e, ok := old[p.id]
	if !ok || e.Desired == "" || e.Live == "" || e.Desired != p.desired || e.Version != p.obj.GroupVersionKind().Version {
		return false
	}
	if liveFingerprint(live, manager) != e.Live {
		return false
	}
	p.live = e.Live
	return true
}

// staleEntries returns the inventory entries the desired objects no longer
// have, in identity order.
func staleEntries(objs []*planned, old inventory) []entry {
	wanted := make(map[reconcile.ObjectID]bool, len(objs))
	for _, p := range objs {
		wanted[p.id] = true
	}
	var stale []entry
	for id, e := range old {
		if !wanted[id] {
			stale = append(stale, e)
		}
	}
	slices.SortFunc(stale, func(a, b entry) int { return a.ID.Compare(b.ID) })
	return stale
}

// staleObject is a stale inventory entry and what the cluster holds for it.
type staleObject struct {
	entry entry
	live  *unstructured.Unstructured // nil when gone or unread
	// refused is the server's refusal to read it ("" when read or gone).
	refused string
}

// decidePrune decides what happens to each stale object of unit: with
// prune off every one is skipped; else only objects still carrying the
// unit's label and without the opt-out annotation are deleted, and a
// Namespace or CRD only once no kept object (desired, or in another unit's
// inventory: keepers) is in it or of its kinds.
func decidePrune(unit string, prune bool, stale []staleObject, keepers []reconcile.ObjectID) []*pruned {
	out := make([]*pruned, len(stale))
	staleIDs := make(map[reconcile.ObjectID]bool, len(stale))
	for _, s := range stale {
		staleIDs[s.entry.ID] = true
	}
	for i, s := range stale {
		p := &pruned{entry: s.entry, obj: s.live, change: reconcile.Change{Object: s.entry.ID}}
		out[i] = p
		live := s.live
		switch {
		case !prune:
			p.obj = nil
			p.change.Action = reconcile.Skipped
			p.change.Message = "no longer in the unit; not deleted (prune is off)"
		case s.refused != "":
			p.change.Action = reconcile.Failed
			p.change.Message = s.refused
		case live == nil:
			p.change.Action = reconcile.Deleted
			p.change.Message = "already gone"
		case live.GetLabels()[UnitLabel] != unit:
			p.change.Action = reconcile.Skipped
			p.change.Message = fmt.Sprintf("not deleted: label %s is %q, not this unit", UnitLabel, live.GetLabels()[UnitLabel])
		case live.GetAnnotations()[PruneAnnotation] == "disabled":
			p.change.Action = reconcile.Skipped
			p.change.Message = "not deleted: " + PruneAnnotation + ": disabled"
		default:
			if isContainer(s.entry.ID) {
				if users := usersOf(s.entry.ID, keepers, staleIDs); len(users) > 0 {
					p.keep = true
					p.change.Action = reconcile.Skipped
					p.change.Message = "not deleted yet: still holds " + strings.Join(users, ", ")
					continue
				}
			}
			p.change.Action = reconcile.Deleted
			p.change.Diff = objectDiff(s.entry.ID, live, nil)
		}
	}
	return out
}

// isContainer reports whether id is a Namespace or a CRD: pruned last, and
// only when empty of steward's objects.
func isContainer(id reconcile.ObjectID) bool {
	return (id.Group == "" && id.Kind == "Namespace") ||
		(id.Group == "apiextensions.k8s.io" && id.Kind == "CustomResourceDefinition")
}

// usersOf names up to three kept objects that live in the namespace id, or
// are of the kinds the CRD id defines (its name is plural.group).
func usersOf(id reconcile.ObjectID, keepers []reconcile.ObjectID, stale map[reconcile.ObjectID]bool) []string {
	var out []string
	for _, k := range keepers {
		if stale[k] || k == id {
			continue
		}
		in := false
		if id.Kind == "Namespace" {
			in = k.Namespace == id.Name
		} else {
			_, group, _ := strings.Cut(id.Name, ".")
			in = k.Group == group && k.Group != ""
		}
		if in {
			out = append(out, k.String())
			if len(out) == 3 {
				break
			}
		}
	}
	return out
}
