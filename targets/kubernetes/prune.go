package kubernetes

import (
	"context"

	"github.com/fluxcd/pkg/ssa"
	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/stewardhq/steward/reconcile"
)

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
