package kubernetes

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/fluxcd/pkg/ssa"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stewardhq/steward/reconcile"
)

// planPrune plans the deletion of inventory entries the request no longer
// has. Only objects that still carry the unit's label are deleted; the prune
// annotation opts out; a Namespace or CRD is kept while any unit still has
// objects in it (or of its kinds).
func (t *Target) planPrune(ctx context.Context, req reconcile.ApplyRequest, data *planData) error {
	wanted := make(map[reconcile.ObjectID]bool, len(data.objects))
	for _, p := range data.objects {
		wanted[p.id] = true
	}
	var stale []entry
	for id, e := range data.old {
		if !wanted[id] {
			stale = append(stale, e)
		}
	}
	if len(stale) == 0 {
		return nil
	}
	slices.SortFunc(stale, func(a, b entry) int { return a.ID.Compare(b.ID) })
	if !req.Unit.Prune {
		for _, e := range stale {
			data.prune = append(data.prune, &pruned{entry: e, change: reconcile.Change{
				Object: e.ID, Action: reconcile.Skipped, Message: "no longer in the unit; not deleted (prune is off)"}})
		}
		return nil
	}
	// Objects that stay: this unit's new set and every other unit's.
	var keepers []reconcile.ObjectID
	for id := range wanted {
		keepers = append(keepers, id)
	}
	needOthers := slices.ContainsFunc(stale, func(e entry) bool { return isContainer(e.ID) })
	if needOthers {
		others, err := t.otherInventories(ctx, req.Unit.Name)
		if err != nil {
			return err
		}
		for _, inv := range others {
			for id := range inv {
				keepers = append(keepers, id)
			}
		}
	}
	staleIDs := make(map[reconcile.ObjectID]bool, len(stale))
	for _, e := range stale {
		staleIDs[e.ID] = true
	}

	out := make([]*pruned, len(stale))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(t.opts.Concurrency)
	for i, e := range stale {
		g.Go(func() error {
			p := &pruned{entry: e, change: reconcile.Change{Object: e.ID}}
			out[i] = p
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(e.gvk())
			err := data.id.client.Get(gctx, client.ObjectKey{Namespace: e.ID.Namespace, Name: e.ID.Name}, live)
			switch {
			case apierrors.IsNotFound(err) || isNoMatch(err):
				p.change.Action = reconcile.Deleted
				p.change.Message = "already gone"
				return nil
			case err != nil && !isAPIStatus(err):
				return fmt.Errorf("get %s: %w", e.ID, err)
			case err != nil:
				p.change.Action = reconcile.Failed
				p.change.Message = apiMessage(err)
				return nil
			}
			p.obj = live
			switch {
			case live.GetLabels()[UnitLabel] != req.Unit.Name:
				p.change.Action = reconcile.Skipped
				p.change.Message = fmt.Sprintf("not deleted: label %s is %q, not this unit", UnitLabel, live.GetLabels()[UnitLabel])
			case live.GetAnnotations()[PruneAnnotation] == "disabled":
				p.change.Action = reconcile.Skipped
				p.change.Message = "not deleted: " + PruneAnnotation + ": disabled"
			case isContainer(e.ID):
				if users := usersOf(e.ID, keepers, staleIDs); len(users) > 0 {
					p.keep = true
					p.change.Action = reconcile.Skipped
					p.change.Message = "not deleted yet: still holds " + strings.Join(users, ", ")
					return nil
				}
				fallthrough
			default:
				p.change.Action = reconcile.Deleted
				p.change.Diff = t.diff(e.ID, live, nil)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	data.prune = out
	return nil
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

// pruneAll deletes what the plan marked deleted: other objects first, then
// CRDs, then namespaces; through ssa, which deletes only objects that still
// carry the unit's label and lack the opt-out annotation.
func (t *Target) pruneAll(ctx context.Context, data *planData, unit string) {
	opts := ssa.DeleteOptions{
		PropagationPolicy: metav1.DeletePropagationBackground,
		Inclusions:        map[string]string{UnitLabel: unit},
		Exclusions:        map[string]string{PruneAnnotation: "disabled"},
	}
	rank := func(id reconcile.ObjectID) int {
		switch {
		case id.Kind == "Namespace":
			return 2
		case isContainer(id):
			return 1
		}
		return 0
	}
	for stage := 0; stage <= 2; stage++ {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(t.opts.Concurrency)
		for _, p := range data.prune {
			if p.obj == nil || p.change.Action != reconcile.Deleted || rank(p.entry.ID) != stage {
				continue
			}
			g.Go(func() error {
				entry, err := data.id.rm.Delete(gctx, p.obj, opts)
				switch {
				case err != nil:
					p.change.Action = reconcile.Failed
					p.change.Message = "delete: " + apiMessage(err)
				case entry != nil && entry.Action == ssa.SkippedAction:
					p.change.Action = reconcile.Skipped
					p.change.Message = "not deleted: changed since the plan (label or prune annotation)"
				}
				return nil
			})
		}
		g.Wait()
	}
}
