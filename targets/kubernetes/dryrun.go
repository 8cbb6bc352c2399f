package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	ssaerrors "github.com/fluxcd/pkg/ssa/errors"
	"golang.org/x/sync/errgroup"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stewardhq/steward/reconcile"
)

// dryRunAll dry-runs the objects at the indexes dry, concurrently.
func (t *Target) dryRunAll(ctx context.Context, data *planData, lv *liveObjects, dry []int, creating map[string]bool) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(t.opts.Concurrency)
	for _, i := range dry {
		p := data.objects[i]
		g.Go(func() error {
			return t.dryRun(gctx, data.id, p, lv.objs[p.id], creating)
		})
	}
	return g.Wait()
}

// dryRun asks the server what applying p would do and sets p's change. It
// returns an error only when the server could not be reached.
func (t *Target) dryRun(ctx context.Context, id *identity, p *planned, live *unstructured.Unstructured, creating map[string]bool) error {
	res, err := t.patch(ctx, id, p.obj, p.force, true)
	if apierrors.IsConflict(err) {
		others := otherAppliers(live, t.opts.FieldManager)
		if !p.force && len(others) > 0 {
			p.fail(conflictMessage(err, others))
			return nil
		}
		// Only imperative writers (or force): take the fields back.
		p.takeOver = true
		res, err = t.patch(ctx, id, p.obj, true, true)
	}
	if err != nil && live == nil && apierrors.IsNotFound(err) && creating[p.obj.GetNamespace()] {
		p.change.Action = reconcile.Created
		p.change.Message = "after its namespace"
		p.change.Diff = objectDiff(p.id, nil, p.obj)
		return nil
	}
	if err != nil && apierrors.IsInvalid(err) && live != nil && p.force {
		return t.planRecreate(ctx, id, p, live, err)
	}
	if err != nil {
		if !isAPIStatus(err) {
			return fmt.Errorf("dry-run %s: %w", p.id, err)
		}
		p.fail(rejectMessage(err, p.force))
		return nil
	}
	if live == nil && res.GetResourceVersion() != "" {
		// The live view could not list this kind: read the object.
		live = &unstructured.Unstructured{}
		live.SetGroupVersionKind(p.obj.GroupVersionKind())
		if err := id.client.Get(ctx, client.ObjectKeyFromObject(p.obj), live); err != nil {
			if !isAPIStatus(err) {
				return fmt.Errorf("get %s: %w", p.id, err)
			}
			live = nil
		}
	}
	switch {
	case live == nil:
		p.change.Action = reconcile.Created
		p.change.Diff = objectDiff(p.id, nil, res)
	case !sameContent(live, res):
		p.change.Action = reconcile.Configured
		p.change.Diff = objectDiff(p.id, live, res)
	case liveFingerprint(res, t.opts.FieldManager) != liveFingerprint(live, t.opts.FieldManager):
		p.change.Action = reconcile.Configured
		p.change.Message = "fields change owner"
	default:
		p.change.Action = reconcile.Unchanged
		p.live = liveFingerprint(live, t.opts.FieldManager)
	}
	if p.takeOver && p.change.Action == reconcile.Configured && len(updaters(live, t.opts.FieldManager)) > 0 {
		p.change.Message = "drift corrected (changed by " + strings.Join(updaters(live, t.opts.FieldManager), ", ") + ")"
	}
	return nil
}

// planRecreate handles an object the server refuses to update with force
// set: it is recreated only if the server would accept it as a new object,
// so that force never deletes an object that then cannot come back.
func (t *Target) planRecreate(ctx context.Context, id *identity, p *planned, live *unstructured.Unstructured, updateErr error) error {
	probe := p.obj.DeepCopy()
	name := probe.GetName()
	if len(name) > 40 {
		name = name[:40]
	}
	probe.SetName(strings.TrimRight(name, "-.") + "-steward-probe")
	_, err := t.patch(ctx, id, probe, true, true)
	if err != nil {
		if !isAPIStatus(err) {
			return fmt.Errorf("dry-run %s: %w", p.id, err)
		}
		p.fail(fmt.Sprintf("%s; not recreated, the server would not create it either: %s", apiMessage(updateErr), apiMessage(err)))
		return nil
	}
	p.recreate = true
	p.takeOver = true
	p.change.Action = reconcile.Configured
	p.change.Message = "recreate (force): " + apiMessage(updateErr)
	p.change.Diff = objectDiff(p.id, live, p.obj)
	return nil
}

// patch server-side applies obj (a copy) and returns the server's object.
func (t *Target) patch(ctx context.Context, id *identity, obj *unstructured.Unstructured, force, dryRun bool) (*unstructured.Unstructured, error) {
	o := obj.DeepCopy()
	opts := []client.PatchOption{client.FieldOwner(t.opts.FieldManager)}
	if force {
		opts = append(opts, client.ForceOwnership)
	}
	if dryRun {
		opts = append(opts, client.DryRunAll)
	}
	if err := id.client.Patch(ctx, o, client.Apply, opts...); err != nil {
		return nil, err
	}
	return o, nil
}

// sameContent compares two versions of an object without the fields the
// server maintains.
func sameContent(a, b *unstructured.Unstructured) bool {
	return apiequality.Semantic.DeepEqual(clean(a).Object, clean(b).Object)
}

// clean returns a copy of o without status and server-maintained metadata.
func clean(o *unstructured.Unstructured) *unstructured.Unstructured {
	c := o.DeepCopy()
	for _, f := range [][]string{
		{"metadata", "managedFields"}, {"metadata", "resourceVersion"}, {"metadata", "generation"},
		{"metadata", "uid"}, {"metadata", "creationTimestamp"}, {"metadata", "selfLink"}, {"status"},
	} {
		unstructured.RemoveNestedField(c.Object, f...)
	}
	if len(c.GetAnnotations()) == 0 {
		unstructured.RemoveNestedField(c.Object, "metadata", "annotations")
	}
	return c
}

// otherAppliers returns the other field managers of live that use apply.
func otherAppliers(live *unstructured.Unstructured, me string) []string {
	return managers(live, me, metav1.ManagedFieldsOperationApply)
}

// updaters returns the field managers of live that use update.
func updaters(live *unstructured.Unstructured, me string) []string {
	return managers(live, me, metav1.ManagedFieldsOperationUpdate)
}

func managers(live *unstructured.Unstructured, me string, op metav1.ManagedFieldsOperationType) []string {
	if live == nil {
		return nil
	}
	var out []string
	for _, e := range live.GetManagedFields() {
		if e.Manager != me && e.Operation == op && e.Subresource == "" && !slices.Contains(out, e.Manager) {
			out = append(out, e.Manager)
		}
	}
	slices.Sort(out)
	return out
}

// apiMessage is the server's message for err.
func apiMessage(err error) string {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		return st.Status().Message
	}
	return err.Error()
}

func conflictMessage(err error, others []string) string {
	return fmt.Sprintf("conflict with field manager %s: %s (force takes the fields over)",
		strings.Join(others, ", "), apiMessage(err))
}

// rejectMessage explains an apply the server refused.
func rejectMessage(err error, force bool) string {
	msg := apiMessage(err)
	if apierrors.IsInvalid(err) && ssaerrors.IsImmutableError(err) && !force {
		msg += " (if the field is immutable, force recreates the object: set force on the unit or annotate " +
			ForceAnnotation + `: "true")`
	}
	return msg
}
