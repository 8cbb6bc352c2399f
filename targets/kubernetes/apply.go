package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stewardhq/steward/reconcile"
)

// FailedError reports that objects of an applied plan failed; their
// changes in the change set say why.
type FailedError struct {
	Unit   string
	Failed []reconcile.Change
}

// Is matches reconcile.ErrChangesFailed: the failures are in the change set.
func (e *FailedError) Is(target error) bool { return target == reconcile.ErrChangesFailed }

func (e *FailedError) Error() string {
	if len(e.Failed) == 1 {
		return fmt.Sprintf("unit %s: %s", e.Unit, e.Failed[0])
	}
	return fmt.Sprintf("unit %s: %d objects failed, first: %s", e.Unit, len(e.Failed), e.Failed[0])
}

// Apply executes plan: Namespaces and CRDs first (waited for), then the
// other objects, then prune, then the inventory, then the wait when the
// unit asks for one. It returns the change set even when it also returns an
// error: a *FailedError for objects that failed, an *InventoryError, or a
// *WaitError.
func (t *Target) Apply(ctx context.Context, plan *reconcile.Plan) (*reconcile.ChangeSet, error) {
	data, ok := plan.Data.(*planData)
	if !ok || data.target != t {
		return nil, errors.New("kubernetes apply: the plan was not made by this target")
	}
	start := time.Now()
	req := plan.Request
	cs := &reconcile.ChangeSet{Unit: req.Unit.Name, Target: t.opts.Name, Revision: req.Revision}
	log := t.opts.Logger.With("unit", req.Unit.Name, "target", t.opts.Name, "revision", req.Revision)

	var first, rest []*planned
	for _, p := range data.objects {
		if p.first {
			first = append(first, p)
		} else {
			rest = append(rest, p)
		}
	}
	t.applyAll(ctx, data.id, first)
	if err := t.waitFirst(ctx, data.id, first); err != nil {
		for _, p := range rest {
			if p.mapping == nil && p.change.Action != reconcile.Failed {
				p.fail(err.Error())
			}
		}
	} else {
		t.awaitServed(ctx, first, rest, servedTimeout)
	}
	t.applyAll(ctx, data.id, rest)
	if req.Unit.Prune {
		t.pruneAll(ctx, data, req.Unit.Name)
	}

	var failed []reconcile.Change
	for _, p := range data.objects {
		cs.Changes = append(cs.Changes, p.change)
	}
	for _, p := range data.prune {
		cs.Changes = append(cs.Changes, p.change)
	}
	for _, c := range cs.Changes {
		switch c.Action {
		case reconcile.Failed:
			failed = append(failed, c)
			log.Error("apply failed", "object", c.Object.String(), "message", c.Message)
		case reconcile.Created, reconcile.Configured, reconcile.Deleted:
			log.Info("applied", "object", c.Object.String(), "action", string(c.Action))
		}
	}

	var errs []error
	if inv := t.newInventory(data, req.Unit.Prune); !sameInventory(inv, data.old) || (len(inv) > 0 && data.owner != req.Unit.StackName()) {
		// Record what was applied even when ctx ended mid-apply.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err := t.writeInventory(wctx, req.Unit, req.Revision, inv)
		cancel()
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(failed) > 0 {
		errs = append(errs, &FailedError{Unit: req.Unit.Name, Failed: failed})
	}
	if req.Unit.Wait != nil && len(failed) == 0 && len(errs) == 0 {
		if err := t.wait(ctx, data, req.Unit.Wait.Timeout.Or(t.opts.WaitTimeout)); err != nil {
			errs = append(errs, err)
		}
	}
	cs.Duration = time.Since(start)
	return cs, errors.Join(errs...)
}

// applyAll applies the objects planned as created or configured.
func (t *Target) applyAll(ctx context.Context, id *identity, objs []*planned) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(t.opts.Concurrency)
	for _, p := range objs {
		switch p.change.Action {
		case reconcile.Created, reconcile.Configured:
		default:
			continue
		}
		g.Go(func() error {
			start := time.Now()
			t.applyOne(gctx, id, p)
			p.change.Duration = time.Since(start)
			return nil
		})
	}
	g.Wait()
}

// applyOne applies p and sets its change and live fingerprint from the
// server's answer.
func (t *Target) applyOne(ctx context.Context, id *identity, p *planned) {
	if p.recreate {
		if err := t.deleteAndWait(ctx, id, p.obj); err != nil {
			p.fail("recreate: " + apiMessage(err))
			return
		}
	}
	res, err := t.patch(ctx, id, p.obj, p.force || p.takeOver, false)
	if apierrors.IsConflict(err) && !p.force {
		// A writer changed it since the plan.
		p.fail(conflictMessage(err, []string{"(changed since the plan)"}))
		return
	}
	if err != nil {
		p.fail(rejectMessage(err, p.force))
		return
	}
	p.live = liveFingerprint(res, t.opts.FieldManager)
}

// deleteAndWait deletes obj and waits until it is gone.
func (t *Target) deleteAndWait(ctx context.Context, id *identity, obj *unstructured.Unstructured) error {
	o := obj.DeepCopy()
	err := id.client.Delete(ctx, o, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, t.opts.WaitTimeout)
	defer cancel()
	return wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		err := id.client.Get(ctx, client.ObjectKeyFromObject(o), o.DeepCopy())
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

// newInventory is what the unit owns after apply: every object the server
// accepted (or already held unchanged), the old entries of objects that
// failed, and pruned objects that stay steward's.
func (t *Target) newInventory(data *planData, prune bool) inventory {
	inv := inventory{}
	for _, p := range data.objects {
		switch p.change.Action {
		case reconcile.Created, reconcile.Configured, reconcile.Unchanged:
			inv[p.id] = entry{ID: p.id, Version: p.obj.GroupVersionKind().Version, Desired: p.desired, Live: p.live}
		default:
			if e, ok := data.old[p.id]; ok {
				inv[p.id] = e
			}
		}
	}
	if prune {
		for _, p := range data.prune {
			if p.keep || p.change.Action == reconcile.Failed {
				inv[p.entry.ID] = p.entry
			}
		}
	}
	return inv
}

func sameInventory(a, b inventory) bool {
	if len(a) != len(b) {
		return false
	}
	for id, e := range a {
		if b[id] != e {
			return false
		}
	}
	return true
}
