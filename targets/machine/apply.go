package machine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stewardhq/steward/reconcile"
)

// finalWriteTimeout bounds the inventory write after a cancelled or failed
// run, which must still record what happened.
const finalWriteTimeout = 30 * time.Second

// Apply executes the plan's per-host plans, batch by batch: the hosts of a
// batch in parallel (up to Parallel), then the breaker: once more hosts have
// failed than Rollout.MaxFailures allows, the remaining batches are not
// touched and their changes are reported skipped with the reason. A host
// whose health check fails after a change is rolled back to its last good
// revision and reported failed, naming both revisions.
//
// The change set is the result: failed hosts and objects are failed changes
// in it, not an error. An error means the run was aborted (a bad plan, or
// ctx ended); the change set then still says what was done.
func (t *Target) Apply(ctx context.Context, plan *reconcile.Plan) (*reconcile.ChangeSet, error) {
	begin := time.Now()
	pd, ok := plan.Data.(*planData)
	if !ok || pd == nil {
		return nil, errors.New("machine target: the plan was not made by a machine target")
	}
	unit, err := unitOf(plan.Request)
	if err != nil {
		return nil, err
	}
	n := len(pd.hosts)
	batch := t.cfg.Rollout.Batch.Of(n)
	if batch <= 0 || batch > n {
		batch = n
	}
	maxFail := t.cfg.Rollout.MaxFailures.Of(n)
	results := make([][]reconcile.Change, n)
	failed := make([]bool, n)
	nFailed := 0
	stopped := ""
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		if stopped == "" && ctx.Err() != nil {
			stopped = "not applied: " + ctx.Err().Error()
		}
		if stopped != "" {
			for i := lo; i < hi; i++ {
				results[i] = skip(pd.hosts[i].changes, stopped)
			}
			continue
		}
		t.forHosts(ctx, hi-lo, func(ctx context.Context, k int) {
			i := lo + k
			results[i], failed[i] = t.applyHost(ctx, plan.Request, unit, pd.hosts[i])
		})
		for i := lo; i < hi; i++ {
			if failed[i] {
				nFailed++
			}
		}
		if nFailed > maxFail && hi < n {
			stopped = fmt.Sprintf("rollout stopped: %d of %d hosts failed, more than maxFailures %d", nFailed, n, maxFail)
			t.cfg.Logger.Warn("rollout stopped", "unit", unit, "target", t.cfg.Name, "revision", plan.Request.Revision, "failed", nFailed)
		}
	}
	cs := &reconcile.ChangeSet{Unit: unit, Target: t.cfg.Name, Revision: plan.Request.Revision}
	for _, r := range results {
		cs.Changes = append(cs.Changes, r...)
	}
	cs.Duration = time.Since(begin)
	if err := ctx.Err(); err != nil {
		// The change set says what was done before the run was stopped.
		return cs, fmt.Errorf("apply aborted: %w", err)
	}
	return cs, nil
}

// forHosts calls fn for 0..n-1, Parallel at a time, and waits.
func (t *Target) forHosts(ctx context.Context, n int, fn func(ctx context.Context, i int)) {
	if n == 1 {
		fn(ctx, 0) // one host, the common case: no goroutine
		return
	}
	var g errgroup.Group
	g.SetLimit(t.cfg.Parallel)
	for i := range n {
		g.Go(func() error {
			fn(ctx, i)
			return nil
		})
	}
	_ = g.Wait()
}

// skip marks the changes that had something to do as skipped; what was
// unchanged (or failed to plan) stays as it was.
func skip(cs []reconcile.Change, why string) []reconcile.Change {
	out := slices.Clone(cs)
	for i := range out {
		if out[i].Action == reconcile.Unchanged || out[i].Action == reconcile.Failed {
			continue
		}
		out[i].Action = reconcile.Skipped
		out[i].Message = why
	}
	return out
}

// failChanged marks the changes that had something to do as failed.
func failChanged(hp *hostPlan, changes []reconcile.Change, msg string) {
	for i, s := range hp.steps {
		if len(s.ops) > 0 && changes[i].Action != reconcile.Skipped {
			changes[i].Action = reconcile.Failed
			changes[i].Message = msg
		}
	}
}

// failUnhealthy marks a host's changes failed after its health check
// failed: the changed ones, or every one when the host was checked again
// without a change (its last run had failed).
func failUnhealthy(hp *hostPlan, changes []reconcile.Change, msg string) {
	if hp.changed() {
		failChanged(hp, changes, msg)
		return
	}
	for i := range changes {
		if changes[i].Action != reconcile.Skipped {
			changes[i].Action = reconcile.Failed
			changes[i].Message = msg
		}
	}
}

// applyHost executes one host's plan and reports its changes and whether
// the host failed.
func (t *Target) applyHost(ctx context.Context, req reconcile.ApplyRequest, unit string, hp *hostPlan) ([]reconcile.Change, bool) {
	// The plan's changes are returned as they are where the host is not
	// worked on (Apply copies them into the change set), else a copy.
	if hp.err != nil || hp.planErr != nil {
		return hp.changes, true
	}
	if hp.held != "" {
		// Counted as failed by the breaker, as when it was rolled back.
		return hp.changes, true
	}
	// A host whose last run failed (its health check among others) is
	// checked again even when nothing changes: it is not known healthy.
	unproven := hp.inv.Status != StatusApplied
	// Record the stack and the unit's prune settings, in an older
	// inventory too.
	prune, allowEmpty := req.Unit != nil && req.Unit.Prune, req.Unit != nil && req.Unit.AllowEmpty
	adopt := (hp.inv.Stack != stackOf(req) || hp.inv.Prune != prune || hp.inv.AllowEmpty != allowEmpty) && len(hp.inv.Entries) > 0
	if !hp.changed() && !adopt && !inventoryOutdated(hp.inv, req.Revision, len(hp.pending) > 0) {
		return hp.changes, false // nothing to do: not even a connection
	}
	changes := slices.Clone(hp.changes)
	inv := cloneInventory(hp.inv)
	inv.Stack, inv.Prune, inv.AllowEmpty = stackOf(req), prune, allowEmpty
	log := t.cfg.Logger.With("unit", unit, "target", t.cfg.Name, "revision", req.Revision, "host", hp.host)
	tr, err := t.dial(ctx, hp.host)
	if err != nil {
		failChanged(hp, changes, "connect: "+err.Error())
		return changes, true
	}
	defer tr.Close()
	h := t.host(tr, hp.host)
	final := func(status string) error {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalWriteTimeout)
		defer cancel()
		inv.Status = status
		inv.AppliedAt = time.Now().UTC()
		return t.writeApplied(wctx, h, inv)
	}

	// Record the restarts and triggered runs first, and what the run is
	// about to create: a run that dies midway (kill -9) leaves them
	// recorded, so the next run still performs the actions, and prune
	// still removes what was created.
	planned := plannedCreations(inv, hp.steps)
	if len(hp.pending) > 0 || len(planned) > 0 {
		inv.Pending = slices.Clone(hp.pending)
		inv.Entries = append(inv.Entries, planned...)
		if err := t.writeApplied(ctx, h, inv); err != nil {
			failChanged(hp, changes, err.Error())
			return changes, true
		}
	} else {
		inv.Pending = nil
	}
	if err := execSteps(ctx, h, hp.steps, inv, changes); err != nil {
		log.Error("apply failed", "err", err)
		inv.Revision = req.Revision
		if werr := final(StatusFailed); werr != nil {
			log.Error("record failure", "err", werr)
		}
		return changes, true
	}
	inv.Revision = req.Revision
	if hc := t.health(req); hc != nil && (hp.changed() || unproven) {
		if herr := t.checkHealth(ctx, h, hc); herr != nil {
			log.Warn("health check failed; rolling back", "err", herr)
			t.rollback(ctx, h, req, inv, hp, changes, herr, final)
			return changes, true
		}
	}
	good, err := goodRevision(req.Revision, hp.objects)
	if err != nil {
		failChanged(hp, changes, err.Error())
		_ = final(StatusFailed)
		return changes, true
	}
	inv.LastGood = good
	inv.Failed, inv.FailedAt, inv.FailedReason = "", nil, ""
	if err := final(StatusApplied); err != nil {
		failChanged(hp, changes, err.Error())
		return changes, true
	}
	log.Info("host applied", "changes", countOps(hp.steps))
	return changes, false
}

// plannedCreations returns the inventory entries of what the steps create
// and the inventory does not list yet.
func plannedCreations(inv *Inventory, steps []*step) []Entry {
	known := map[string]bool{}
	for _, e := range inv.Entries {
		known[e.key()] = true
	}
	var out []Entry
	for _, s := range steps {
		if s.prune || s.entry == nil || !s.entry.Created || len(s.ops) == 0 || known[s.key] {
			continue
		}
		out = append(out, *s.entry)
	}
	return out
}

// inventoryOutdated reports whether the inventory must be rewritten even
// though no object changes.
func inventoryOutdated(inv *Inventory, rev string, pending bool) bool {
	return inv.Revision != rev || inv.Status != StatusApplied || len(inv.Pending) > 0 || pending ||
		inv.LastGood == nil || inv.LastGood.Revision != rev
}

func countOps(steps []*step) int {
	n := 0
	for _, s := range steps {
		if len(s.ops) > 0 {
			n++
		}
	}
	return n
}

// execSteps runs the steps in order, updating the inventory and the
// changes (same index as steps) as it goes. At the first failure the step is
// marked failed, the later steps with work skipped, and the error returned.
func execSteps(ctx context.Context, h *host, steps []*step, inv *Inventory, changes []reconcile.Change) error {
	entries := map[string]Entry{}
	for _, e := range inv.Entries {
		entries[e.key()] = e
	}
	defer func() {
		inv.Entries = slices.SortedFunc(maps.Values(entries), func(a, b Entry) int {
			return strings.Compare(a.key(), b.key())
		})
	}()
	for i, s := range steps {
		begin := time.Now()
		for _, o := range s.ops {
			if err := o.exec(ctx, h); err != nil {
				if s.prune && s.id.Kind == KindDirectory && o.kind == opRemove && h.isDir(ctx, o.path) {
					// It holds what steward did not create: keep it, say so
					// once, and forget it.
					changes[i].Action, changes[i].Message = reconcile.Unchanged, "kept: not empty"
					break
				}
				changes[i].Action = reconcile.Failed
				changes[i].Message = err.Error()
				changes[i].Duration = time.Since(begin)
				for j := i + 1; j < len(steps); j++ {
					if len(steps[j].ops) > 0 {
						changes[j].Action = reconcile.Skipped
						changes[j].Message = fmt.Sprintf("not applied: %s failed", objName(s.id))
					}
				}
				return fmt.Errorf("%s: %w", objName(s.id), err)
			}
			if o.pending != "" {
				inv.Pending = slices.DeleteFunc(inv.Pending, func(p string) bool { return p == o.pending })
			}
		}
		if len(s.ops) > 0 {
			changes[i].Duration = time.Since(begin)
		}
		switch {
		case s.prune || s.entry == nil:
			delete(entries, s.key)
		default:
			entries[s.key] = *s.entry
		}
	}
	return nil
}

// rollback re-applies the last good revision's objects to h after a failed
// health check, pruning what the failed revision added.
func (t *Target) rollback(ctx context.Context, h *host, req reconcile.ApplyRequest, inv *Inventory, hp *hostPlan,
	changes []reconcile.Change, herr error, final func(string) error) {
	msg := fmt.Sprintf("health check failed after applying revision %s: %v", req.Revision, herr)
	if inv.LastGood == nil {
		failUnhealthy(hp, changes, msg+"; no last good revision to roll back to")
		_ = final(StatusFailed)
		return
	}
	good := inv.LastGood.Revision
	err := func() error {
		objs, err := lastGoodObjects(ctx, h, inv)
		if err != nil {
			return err
		}
		res, err := decodeAll(objs)
		if err != nil {
			return err
		}
		rp, err := planHost(ctx, h, inv, res, true)
		if err != nil {
			return err
		}
		inv.Pending = append(inv.Pending, rp.pending...)
		rb := make([]reconcile.Change, len(rp.steps))
		return execSteps(ctx, h, rp.steps, inv, rb)
	}()
	if err != nil {
		msg += fmt.Sprintf("; rollback to revision %s failed: %v", good, err)
	} else {
		msg += fmt.Sprintf("; rolled back to revision %s", good)
		inv.Revision = good
		// The rollback restarted what it changed: say whether the host
		// serves again, with the same check and its retries.
		if hc := t.health(req); hc != nil {
			if herr := t.checkHealth(ctx, h, hc); herr != nil {
				msg += fmt.Sprintf(", which is not healthy either: %v", herr)
			}
		}
	}
	inv.Failed = req.Revision
	now := time.Now().UTC()
	inv.FailedAt, inv.FailedReason = &now, herr.Error()
	failUnhealthy(hp, changes, msg)
	status := StatusRolledBack
	if err != nil {
		status = StatusFailed
	}
	if werr := final(status); werr != nil {
		t.cfg.Logger.Error("record rollback", "unit", req.Unit.Name, "host", hp.host, "err", werr)
	}
}

func (t *Target) health(req reconcile.ApplyRequest) *reconcile.Health {
	if req.Unit != nil && req.Unit.Health != nil {
		return req.Unit.Health
	}
	return t.cfg.Health
}

func cloneInventory(inv *Inventory) *Inventory {
	c := *inv
	c.Entries = slices.Clone(inv.Entries)
	c.Pending = slices.Clone(inv.Pending)
	return &c
}
