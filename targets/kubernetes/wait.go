package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	"github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stewardhq/steward/reconcile"
)

// NotReady is an object that did not become healthy in time.
type NotReady struct {
	Object  reconcile.ObjectID
	Status  string // kstatus: InProgress, Failed, NotFound, Unknown, Terminating
	Message string
}

// WaitError lists the objects that were not Current when the wait ended.
type WaitError struct {
	Unit     string
	Timeout  time.Duration
	NotReady []NotReady
	Err      error // the wait's own error when no object could be named
}

func (e *WaitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "unit %s: not healthy after %s", e.Unit, e.Timeout)
	for _, n := range e.NotReady {
		fmt.Fprintf(&b, "\n  %s: %s", n.Object, n.Status)
		if n.Message != "" {
			fmt.Fprintf(&b, ": %s", n.Message)
		}
	}
	if len(e.NotReady) == 0 && e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *WaitError) Unwrap() error { return e.Err }

// waitFirst waits for the Namespaces and CRDs just applied to be served
// (CRDs Established).
func (t *Target) waitFirst(ctx context.Context, id *identity, first []*planned) error {
	var set object.ObjMetadataSet
	for _, p := range first {
		if p.change.Action == reconcile.Created || p.change.Action == reconcile.Configured {
			set = append(set, metaOf(p.obj))
		}
	}
	if len(set) == 0 {
		return nil
	}
	err := id.rm.WaitForSetWithContext(ctx, set, ssa.WaitOptions{Interval: 200 * time.Millisecond, Timeout: time.Minute})
	if err != nil {
		return fmt.Errorf("namespaces and CRDs not ready: %w", err)
	}
	return nil
}

// servedTimeout bounds how long a kind whose CRD is Established may take to
// appear in discovery.
const servedTimeout = time.Minute

// awaitServed waits until discovery serves the kind of every object that
// had no REST mapping at plan time (its CRD was part of the plan). A CRD
// is Established before the API server's discovery lists its kinds, and
// the REST mapper only knows what discovery said: applying right away
// fails with "no matches for kind". Each attempt asks discovery again (the
// mapper reloads a group on every miss), every 200ms, until the timeout;
// objects whose kind is still not served then fail naming it. Objects
// whose CRD failed to apply fail at once.
func (t *Target) awaitServed(ctx context.Context, first, objs []*planned, timeout time.Duration) {
	crds := map[schema.GroupKind]*planned{}
	for _, p := range first {
		if utils.IsCRD(p.obj) {
			g, _, _ := unstructured.NestedString(p.obj.Object, "spec", "group")
			k, _, _ := unstructured.NestedString(p.obj.Object, "spec", "names", "kind")
			crds[schema.GroupKind{Group: g, Kind: k}] = p
		}
	}
	pending := map[schema.GroupVersionKind][]*planned{}
	for _, p := range objs {
		if p.mapping != nil || p.change.Action == reconcile.Failed {
			continue
		}
		gvk := p.obj.GroupVersionKind()
		if crd := crds[gvk.GroupKind()]; crd != nil && crd.change.Action == reconcile.Failed {
			p.fail(fmt.Sprintf("its CustomResourceDefinition %s failed", crd.obj.GetName()))
			continue
		}
		pending[gvk] = append(pending[gvk], p)
	}
	if len(pending) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	lastErr := map[schema.GroupVersionKind]error{}
	_ = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(context.Context) (bool, error) {
		for gvk, ps := range pending {
			m, err := t.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				lastErr[gvk] = err
				continue
			}
			for _, p := range ps {
				p.mapping = m
			}
			delete(pending, gvk)
		}
		return len(pending) == 0, nil
	})
	for gvk, ps := range pending {
		msg := fmt.Sprintf("the server's discovery did not serve kind %s in %s within %s of its CustomResourceDefinition being established", gvk.Kind, gvk.GroupVersion(), timeout)
		if err := lastErr[gvk]; err != nil && !meta.IsNoMatchError(err) {
			msg += ": " + err.Error()
		}
		for _, p := range ps {
			p.fail(msg)
		}
	}
}

// wait waits for the unit's objects to be Current (kstatus).
func (t *Target) wait(ctx context.Context, data *planData, timeout time.Duration) error {
	var set object.ObjMetadataSet
	for _, p := range data.objects {
		if p.change.Action != reconcile.Failed {
			set = append(set, metaOf(p.obj))
		}
	}
	if len(set) == 0 {
		return nil
	}
	err := data.id.rm.WaitForSetWithContext(ctx, set, ssa.WaitOptions{Interval: t.opts.WaitInterval, Timeout: timeout})
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	// Name every object that is not Current, with its status message.
	we := &WaitError{Unit: data.unit, Timeout: timeout, Err: err}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, p := range data.objects {
		if p.change.Action == reconcile.Failed {
			continue
		}
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(p.obj.GroupVersionKind())
		if err := data.id.client.Get(rctx, client.ObjectKeyFromObject(p.obj), live); err != nil {
			we.NotReady = append(we.NotReady, NotReady{Object: p.id, Status: string(status.UnknownStatus), Message: apiMessage(err)})
			continue
		}
		res, err := status.Compute(live)
		if err != nil {
			we.NotReady = append(we.NotReady, NotReady{Object: p.id, Status: string(status.UnknownStatus), Message: err.Error()})
			continue
		}
		if res.Status != status.CurrentStatus {
			we.NotReady = append(we.NotReady, NotReady{Object: p.id, Status: string(res.Status), Message: res.Message})
		}
	}
	return we
}

func metaOf(o *unstructured.Unstructured) object.ObjMetadata {
	return object.ObjMetadata{
		GroupKind: o.GroupVersionKind().GroupKind(),
		Namespace: o.GetNamespace(),
		Name:      o.GetName(),
	}
}
