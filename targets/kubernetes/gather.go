package kubernetes

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
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
	lv, err := t.liveView(ctx, id, objs)
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
