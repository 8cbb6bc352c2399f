package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stewardhq/steward/reconcile"
)

// gather reads what planning needs from the cluster: the unit's inventory,
// the REST mapping of every kind, and the live objects (one LIST per kind
// and namespace). The objects come back prepared, resolved and sorted.
func (t *Target) gather(ctx context.Context, req reconcile.ApplyRequest) (*planData, *liveObjects, error) {
	if req.Unit == nil {
		return nil, nil, errors.New("kubernetes plan: request without a unit")
	}
	id, err := t.identityFor(req.Unit)
	if err != nil {
		return nil, nil, err
	}
	objs, err := t.prepare(req)
	if err != nil {
		return nil, nil, err
	}
	old, owner, err := t.readInventory(ctx, req.Unit.Name, req.Unit.StackName())
	if err != nil {
		return nil, nil, err
	}
	if err := t.resolve(objs, req.Unit.Namespace); err != nil {
		return nil, nil, err
	}
	if err := checkDuplicates(objs); err != nil {
		return nil, nil, err
	}
	sortPlanned(objs)
	lv, err := t.liveView(ctx, id, req.Unit.Name, objs, old)
	if err != nil {
		return nil, nil, err
	}
	return &planData{target: t, unit: req.Unit.Name, id: id, objects: objs, old: old, owner: owner}, lv, nil
}

// gatherPrune reads what the cluster holds for each stale entry, and, when
// a Namespace or CRD is among them, the objects every other unit's
// inventory keeps: with the desired objects, the keepers decidePrune
// weighs a container against.
func (t *Target) gatherPrune(ctx context.Context, data *planData, stale []entry) ([]staleObject, []reconcile.ObjectID, error) {
	keepers := make([]reconcile.ObjectID, 0, len(data.objects))
	for _, p := range data.objects {
		keepers = append(keepers, p.id)
	}
	for _, e := range stale {
		if !isContainer(e.ID) {
			continue
		}
		others, err := t.otherInventories(ctx, data.unit)
		if err != nil {
			return nil, nil, err
		}
		for _, inv := range others {
			for id := range inv {
				keepers = append(keepers, id)
			}
		}
		break
	}
	out := make([]staleObject, len(stale))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(t.opts.Concurrency)
	for i, e := range stale {
		g.Go(func() error {
			out[i].entry = e
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(e.gvk())
			err := data.id.client.Get(gctx, client.ObjectKey{Namespace: e.ID.Namespace, Name: e.ID.Name}, live)
			switch {
			case apierrors.IsNotFound(err) || isNoMatch(err):
			case err != nil && !isAPIStatus(err):
				return fmt.Errorf("get %s: %w", e.ID, err)
			case err != nil:
				out[i].refused = apiMessage(err)
			default:
				out[i].live = live
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	return out, keepers, nil
}

// liveKey groups objects for one LIST.
type liveKey struct {
	gvk       schema.GroupVersionKind
	namespace string
}

// liveObjects is what the cluster holds of the objects a plan touches. An
// object the server refused to read (forbidden) is left to a dry-run: it
// is neither known by its kind and namespace nor read.
type liveObjects struct {
	// known holds the kinds and namespaces listed whole: an object of
	// them missing from objs does not exist.
	known map[liveKey]bool
	// read holds the objects read one by one or found by their unit's
	// label, and those a read found missing.
	read map[reconcile.ObjectID]bool
	objs map[reconcile.ObjectID]*unstructured.Unstructured
}

// knows reports whether the live view says for sure whether p exists.
func (lv *liveObjects) knows(p *planned) bool {
	return lv.known[liveKey{gvk: p.obj.GroupVersionKind(), namespace: p.obj.GetNamespace()}] || lv.read[p.id]
}

// maxLiveGets bounds the objects of one kind and namespace read one by one
// for a plan; past it, the plan lists the kind in the namespace whole.
const maxLiveGets = 16

// liveRead is how the live view reads one kind in one namespace: the
// unit's objects by its label, then one GET per object the label did not
// find (new to the unit, or relabelled by someone); or, past maxLiveGets
// of those, the whole namespace. A unit's plan reads its own objects, not
// every object of its kinds beside them: 10 000 units of ConfigMaps in one
// namespace used to list all 40 000 for each unit.
type liveRead struct {
	key      liveKey
	objs     []*planned
	labelled bool // list the unit's objects by label first
	whole    bool // list the namespace whole
}

// liveView reads the objects the plan touches (see liveRead). A read the
// server refuses (forbidden) leaves its objects to dry-runs.
func (t *Target) liveView(ctx context.Context, id *identity, unit string, objs []*planned, old inventory) (*liveObjects, error) {
	var reads []*liveRead
	byKey := map[liveKey]*liveRead{}
	for _, p := range objs {
		if p.mapping == nil || p.change.Action == reconcile.Failed {
			continue
		}
		k := liveKey{gvk: p.obj.GroupVersionKind(), namespace: p.obj.GetNamespace()}
		r := byKey[k]
		if r == nil {
			r = &liveRead{key: k}
			byKey[k] = r
			reads = append(reads, r)
		}
		r.objs = append(r.objs, p)
		if _, ok := old[p.id]; ok {
			r.labelled = true // the unit applied it: it carries the label
		}
	}
	selector := labels.SelectorFromSet(labels.Set{UnitLabel: unit})
	if errs := validation.IsValidLabelValue(unit); len(errs) > 0 {
		selector = nil
	}
	lv := &liveObjects{known: map[liveKey]bool{}, read: map[reconcile.ObjectID]bool{}, objs: map[reconcile.ObjectID]*unstructured.Unstructured{}}
	var mu sync.Mutex
	found := func(k liveKey, o *unstructured.Unstructured) {
		t.liveReads.Add(1)
		o.SetGroupVersionKind(k.gvk)
		mu.Lock()
		lv.objs[reconcile.IDOf(o)] = o
		mu.Unlock()
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(t.opts.Concurrency)
	for _, r := range reads {
		r.whole = selector == nil || (!r.labelled && len(r.objs) > maxLiveGets)
		g.Go(func() error {
			if r.whole || !r.labelled {
				return nil
			}
			items, ok, err := t.list(gctx, id, r.key, client.MatchingLabelsSelector{Selector: selector})
			if err != nil || !ok {
				return err
			}
			for i := range items {
				found(r.key, &items[i])
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	// What the label did not find: read one by one, or the whole list.
	missing := make([][]*planned, len(reads))
	for i, r := range reads {
		if r.whole {
			continue
		}
		for _, p := range r.objs {
			if lv.objs[p.id] == nil {
				missing[i] = append(missing[i], p)
			} else {
				lv.read[p.id] = true
			}
		}
		r.whole = len(missing[i]) > maxLiveGets
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(t.opts.Concurrency)
	for i, r := range reads {
		if r.whole {
			g.Go(func() error {
				items, ok, err := t.list(gctx, id, r.key)
				if err != nil || !ok {
					return err
				}
				for i := range items {
					found(r.key, &items[i])
				}
				mu.Lock()
				lv.known[r.key] = true
				mu.Unlock()
				return nil
			})
			continue
		}
		for _, p := range missing[i] {
			g.Go(func() error {
				live := &unstructured.Unstructured{}
				live.SetGroupVersionKind(r.key.gvk)
				err := id.client.Get(gctx, client.ObjectKeyFromObject(p.obj), live)
				switch {
				case err == nil:
					found(r.key, live)
				case apierrors.IsNotFound(err):
				case isAPIStatus(err):
					return nil // forbidden or otherwise refused: dry-run it
				default:
					return fmt.Errorf("get %s: %w", p.id, err)
				}
				mu.Lock()
				lv.read[p.id] = true
				mu.Unlock()
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return lv, nil
}

// list lists one kind in one namespace with opts; ok is false when the
// server refused (forbidden): those objects are left to dry-runs.
func (t *Target) list(ctx context.Context, id *identity, k liveKey, opts ...client.ListOption) ([]unstructured.Unstructured, bool, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(k.gvk.GroupVersion().WithKind(k.gvk.Kind + "List"))
	err := id.client.List(ctx, list, append(opts, client.InNamespace(k.namespace))...)
	switch {
	case err == nil:
		return list.Items, true, nil
	case apierrors.IsNotFound(err):
		return nil, true, nil
	case isAPIStatus(err):
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("list %s in %q: %w", k.gvk.Kind, k.namespace, err)
}

// isAPIStatus reports whether err is an answer of the API server (as
// opposed to a transport failure).
func isAPIStatus(err error) bool {
	var st apierrors.APIStatus
	return errors.As(err, &st)
}
