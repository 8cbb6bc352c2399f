package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/fluxcd/pkg/ssa/utils"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stewardhq/steward/reconcile"
)

// planned is one object of a plan and what Apply does with it.
type planned struct {
	obj      *unstructured.Unstructured // as it is sent: defaulted namespace, unit label
	id       reconcile.ObjectID
	mapping  *meta.RESTMapping // nil while its CRD is part of the plan and not yet served
	first    bool              // a Namespace or CRD: applied and waited for first
	change   reconcile.Change
	force    bool // unit.Force or the force annotation
	takeOver bool // apply with force ownership (drift by imperative writers, or force)
	recreate bool // delete then apply: an immutable field changed and force is set
	desired  string
	live     string // live fingerprint of an unchanged object
}

// pruned is an inventory entry the new revision no longer has.
type pruned struct {
	entry  entry
	obj    *unstructured.Unstructured // live object, nil when gone
	change reconcile.Change
	keep   bool // stays in the inventory (skipped but still steward's)
}

// planData is what Apply needs from Plan.
type planData struct {
	target  *Target
	unit    string
	id      *identity
	objects []*planned
	prune   []*pruned
	old     inventory
}

// Plan compares the unit's objects with the cluster and returns what Apply
// would do, with a diff per object. It changes nothing in the cluster.
func (t *Target) Plan(ctx context.Context, req reconcile.ApplyRequest) (*reconcile.Plan, error) {
	if req.Unit == nil {
		return nil, errors.New("kubernetes plan: request without a unit")
	}
	id, err := t.identityFor(req.Unit)
	if err != nil {
		return nil, err
	}
	objs, err := t.prepare(req)
	if err != nil {
		return nil, err
	}
	old, _, err := t.readInventory(ctx, req.Unit.Name)
	if err != nil {
		return nil, err
	}
	if err := t.resolve(objs, req.Unit.Namespace); err != nil {
		return nil, err
	}
	if err := checkDuplicates(objs); err != nil {
		return nil, err
	}
	sortPlanned(objs)
	live, err := t.liveView(ctx, id, objs)
	if err != nil {
		return nil, err
	}
	data := &planData{target: t, unit: req.Unit.Name, id: id, objects: objs, old: old}
	if err := t.classify(ctx, data, live); err != nil {
		return nil, err
	}
	if err := t.planPrune(ctx, req, data); err != nil {
		return nil, err
	}
	plan := &reconcile.Plan{Request: req, Data: data}
	for _, p := range objs {
		plan.Changes = append(plan.Changes, p.change)
	}
	for _, p := range data.prune {
		plan.Changes = append(plan.Changes, p.change)
	}
	return plan, nil
}

// ObjectError is an object of the request that cannot be applied as given.
type ObjectError struct {
	ID  reconcile.ObjectID
	Err error
}

func (e *ObjectError) Error() string { return fmt.Sprintf("%s: %v", e.ID, e.Err) }
func (e *ObjectError) Unwrap() error { return e.Err }

// prepare copies the request's objects and checks what it can without the
// cluster.
func (t *Target) prepare(req reconcile.ApplyRequest) ([]*planned, error) {
	out := make([]*planned, 0, len(req.Objects))
	for i, o := range req.Objects {
		id := reconcile.IDOf(o)
		switch {
		case reconcile.IsMachine(o):
			return nil, &ObjectError{ID: id, Err: errors.New("a machine kind cannot go to a kubernetes target")}
		case o.GetAPIVersion() == "" || o.GetKind() == "":
			return nil, &ObjectError{ID: id, Err: fmt.Errorf("object %d has no apiVersion or kind", i)}
		case o.GetName() == "":
			return nil, &ObjectError{ID: id, Err: errors.New("metadata.name is empty (generateName is not supported)")}
		}
		obj := o.DeepCopy()
		for _, f := range [][]string{
			{"metadata", "resourceVersion"}, {"metadata", "uid"}, {"metadata", "managedFields"},
			{"metadata", "creationTimestamp"}, {"metadata", "generation"}, {"metadata", "selfLink"},
		} {
			unstructured.RemoveNestedField(obj.Object, f...)
		}
		labels := obj.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[UnitLabel] = req.Unit.Name
		obj.SetLabels(labels)
		utils.RemoveCABundleFromCRD(obj)
		out = append(out, &planned{
			obj:   obj,
			first: utils.IsCRD(obj) || utils.IsNamespace(obj),
			force: req.Unit.Force || obj.GetAnnotations()[ForceAnnotation] == "true",
		})
	}
	return out, nil
}

// resolve finds each object's REST mapping, defaults the namespace of
// namespaced objects (the unit's, else the target's) and clears it on
// cluster-scoped ones. A kind the
// server does not serve is served by a CRD of the same plan, or fails.
func (t *Target) resolve(objs []*planned, unitNamespace string) error {
	crds := map[schema.GroupKind]*unstructured.Unstructured{}
	for _, p := range objs {
		if utils.IsCRD(p.obj) {
			g, _, _ := unstructured.NestedString(p.obj.Object, "spec", "group")
			k, _, _ := unstructured.NestedString(p.obj.Object, "spec", "names", "kind")
			crds[schema.GroupKind{Group: g, Kind: k}] = p.obj
		}
	}
	ns := unitNamespace
	if ns == "" {
		ns = t.opts.Namespace
	}
	type result struct {
		m   *meta.RESTMapping
		err error
	}
	// One lookup per kind: a kind the server lacks costs a discovery each time.
	seen := map[schema.GroupVersionKind]result{}
	for _, p := range objs {
		gvk := p.obj.GroupVersionKind()
		namespaced := false
		r, ok := seen[gvk]
		if !ok {
			r.m, r.err = t.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			seen[gvk] = r
		}
		m, err := r.m, r.err
		switch {
		case err == nil:
			p.mapping = m
			namespaced = m.Scope.Name() == meta.RESTScopeNameNamespace
		case meta.IsNoMatchError(err):
			crd, ok := crds[gvk.GroupKind()]
			if !ok {
				p.fail(fmt.Sprintf("the server has no kind %s in %s (is its CustomResourceDefinition installed?)", gvk.Kind, gvk.GroupVersion()))
				continue
			}
			scope, _, _ := unstructured.NestedString(crd.Object, "spec", "scope")
			namespaced = scope == "Namespaced"
		default:
			return fmt.Errorf("discover %s: %w", gvk, err)
		}
		if namespaced && p.obj.GetNamespace() == "" {
			p.obj.SetNamespace(ns)
		}
		if !namespaced {
			p.obj.SetNamespace("")
		}
	}
	return nil
}

// checkDuplicates fills the identities once namespaces are final and
// rejects duplicates.
func checkDuplicates(objs []*planned) error {
	seen := make(map[reconcile.ObjectID]bool, len(objs))
	for _, p := range objs {
		p.id = reconcile.IDOf(p.obj)
		p.change.Object = p.id
		if seen[p.id] {
			return &reconcile.DuplicateError{ID: p.id}
		}
		seen[p.id] = true
	}
	return nil
}

func (p *planned) fail(msg string) {
	p.change.Action = reconcile.Failed
	p.change.Message = msg
}

// liveKey groups objects for one LIST.
type liveKey struct {
	gvk       schema.GroupVersionKind
	namespace string
}

// liveView lists, once per kind and namespace, the objects the plan touches.
// A list the server refuses (forbidden) leaves its objects to dry-runs:
// they are missing from the result's known set.
type liveObjects struct {
	known map[liveKey]bool
	objs  map[reconcile.ObjectID]*unstructured.Unstructured
}

func (t *Target) liveView(ctx context.Context, id *identity, objs []*planned) (*liveObjects, error) {
	var keys []liveKey
	seen := map[liveKey]bool{}
	for _, p := range objs {
		if p.mapping == nil || p.change.Action == reconcile.Failed {
			continue
		}
		k := liveKey{gvk: p.obj.GroupVersionKind(), namespace: p.obj.GetNamespace()}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	lists := make([]*unstructured.UnstructuredList, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(t.opts.Concurrency)
	for i, k := range keys {
		g.Go(func() error {
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(k.gvk.GroupVersion().WithKind(k.gvk.Kind + "List"))
			err := id.client.List(gctx, list, client.InNamespace(k.namespace))
			switch {
			case err == nil:
				lists[i] = list
			case apierrors.IsNotFound(err):
				lists[i] = &unstructured.UnstructuredList{}
			case isAPIStatus(err):
				// forbidden or otherwise refused: dry-run these objects
			default:
				return fmt.Errorf("list %s in %q: %w", k.gvk.Kind, k.namespace, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	lv := &liveObjects{known: map[liveKey]bool{}, objs: map[reconcile.ObjectID]*unstructured.Unstructured{}}
	for i, list := range lists {
		if list == nil {
			continue
		}
		lv.known[keys[i]] = true
		for j := range list.Items {
			o := &list.Items[j]
			o.SetGroupVersionKind(keys[i].gvk)
			lv.objs[reconcile.IDOf(o)] = o
		}
	}
	return lv, nil
}

// isAPIStatus reports whether err is an answer of the API server (as
// opposed to a transport failure).
func isAPIStatus(err error) bool {
	var st apierrors.APIStatus
	return errors.As(err, &st)
}

// classify decides each object's action, dry-running those the live view
// and the inventory cannot vouch for.
func (t *Target) classify(ctx context.Context, data *planData, lv *liveObjects) error {
	creating := map[string]bool{} // namespaces this plan creates
	for _, p := range data.objects {
		if utils.IsNamespace(p.obj) && lv.objs[p.id] == nil {
			creating[p.obj.GetName()] = true
		}
	}
	var dry []int
	for i, p := range data.objects {
		if p.change.Action == reconcile.Failed {
			continue
		}
		p.desired = desiredFingerprint(p.obj, p.force)
		if p.mapping == nil {
			p.change.Action = reconcile.Created
			p.change.Message = "after its CustomResourceDefinition"
			p.change.Diff = t.diff(p.id, nil, p.obj)
			continue
		}
		known := lv.known[liveKey{gvk: p.obj.GroupVersionKind(), namespace: p.obj.GetNamespace()}]
		live := lv.objs[p.id]
		switch {
		case known && live == nil && !t.opts.DryRunNew:
			p.change.Action = reconcile.Created
			p.change.Diff = t.diff(p.id, nil, p.obj)
		case live != nil && t.unchanged(data.old, p, live):
			p.change.Action = reconcile.Unchanged
		default:
			dry = append(dry, i)
		}
	}
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

// unchanged reports whether the inventory vouches for live: steward sends
// what it sent last time and the fields it manages are as it left them.
func (t *Target) unchanged(old inventory, p *planned, live *unstructured.Unstructured) bool {
	e, ok := old[p.id]
	if !ok || e.Desired == "" || e.Live == "" || e.Desired != p.desired || e.Version != p.obj.GroupVersionKind().Version {
		return false
	}
	if liveFingerprint(live, t.opts.FieldManager) != e.Live {
		return false
	}
	p.live = e.Live
	return true
}

// sortPlanned orders objects the way every output lists them.
func sortPlanned(objs []*planned) {
	slices.SortStableFunc(objs, func(a, b *planned) int { return a.id.Compare(b.id) })
}
