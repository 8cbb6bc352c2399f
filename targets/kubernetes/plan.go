package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

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
	owner   string // the stack recorded in old
}

// Plan compares the unit's objects with the cluster and returns what Apply
// would do, with a diff per object. It changes nothing in the cluster: it
// gathers what the cluster holds, decides what it can without the server
// (decide, pure), and dry-runs the rest.
func (t *Target) Plan(ctx context.Context, req reconcile.ApplyRequest) (*reconcile.Plan, error) {
	data, lv, err := t.gather(ctx, req)
	if err != nil {
		return nil, err
	}
	dry, creating := decide(data.objects, lv, data.old, t.decideOptions())
	if err := t.dryRunAll(ctx, data, lv, dry, creating); err != nil {
		return nil, err
	}
	if stale := staleEntries(data.objects, data.old); len(stale) > 0 {
		objs := make([]staleObject, len(stale))
		for i, e := range stale {
			objs[i].entry = e
		}
		var keepers []reconcile.ObjectID
		if req.Unit.Prune {
			if objs, keepers, err = t.gatherPrune(ctx, data, stale); err != nil {
				return nil, err
			}
		}
		data.prune = decidePrune(req.Unit.Name, req.Unit.Prune, objs, keepers)
	}
	plan := &reconcile.Plan{Request: req, Data: data}
	for _, p := range data.objects {
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

// sortPlanned orders objects the way every output lists them.
func sortPlanned(objs []*planned) {
	slices.SortStableFunc(objs, func(a, b *planned) int { return a.id.Compare(b.id) })
}
