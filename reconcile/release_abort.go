package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// AbortRelease stops the release of the progressive unit name and rolls
// every wave that took it (applied or failed it) back to the revision it
// ran before, generated again from the source. The aborted revision is not
// applied again until the unit generates something else; a revision that
// arrived while the release was frozen is released next. It waits for the
// pass in flight.
func (r *Reconciler) AbortRelease(ctx context.Context, name string) error {
	r.passMu.Lock()
	defer r.passMu.Unlock()
	gen, waves, err := r.release(name)
	if err != nil {
		return err
	}
	v := r.readRelease(ctx, gen, waves[0].wave)
	for _, w := range v.waves {
		if w.Err != nil {
			return w.Err
		}
	}
	if v.aborted() >= 0 {
		return fmt.Errorf("%w: release %s is aborted already", ErrReleaseState, name)
	}
	back := v.toRollBack()
	if len(back) == 0 {
		return fmt.Errorf("%w: release %s has no wave to roll back (%s)", ErrReleaseState, name, v.status(gen.rev.ID))
	}
	var errs []error
	for _, i := range back {
		if err := r.rollBackWave(ctx, gen, waves[i], v.waves[i].Mark); err != nil {
			errs = append(errs, fmt.Errorf("wave %d of %s (target %s): %w", i+1, name, waves[i].Target, err))
		}
	}
	r.mu.Lock()
	for _, u := range waves {
		delete(r.units, u.Name) // evaluated afresh next pass
	}
	r.mu.Unlock()
	r.Trigger()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	r.opts.Logger.Info("release aborted", "unit", name, "waves", len(back))
	return nil
}

// toRollBack returns the waves that took the release being aborted: the
// frozen release's revision where one is frozen, else the current one.
// A wave took it when its mark is at the wave's current hash, or failed,
// or names the same first revision as the wave that froze.
func (v *releaseView) toRollBack() []int {
	rev := ""
	if i := v.frozen(); i >= 0 {
		rev = v.waves[i].Mark.Revision
	}
	var out []int
	for i, w := range v.waves {
		m := w.Mark
		if m == nil {
			continue
		}
		if m.Hash == w.Hash || m.Failed != "" || (rev != "" && m.Revision == rev) {
			out = append(out, i)
		}
	}
	return slices.Clip(out)
}

// rollBackWave applies to u's target what u generated at the wave's
// previous revision and marks the wave as running it, with the aborted
// hash recorded.
func (r *Reconciler) rollBackWave(ctx context.Context, gen *generation, u *Unit, m *ReleaseMark) error {
	if m.Previous == "" {
		return fmt.Errorf("no earlier healthy revision recorded; left at revision %s", ShortRevision(m.Revision, RevisionWidth))
	}
	f, ok := r.opts.Source.(RevisionFinder)
	if !ok {
		return fmt.Errorf("the source cannot look revision %s up", ShortRevision(m.Previous, RevisionWidth))
	}
	rev, err := f.Revision(ctx, m.Previous)
	if err != nil {
		return fmt.Errorf("revision %s: %w", ShortRevision(m.Previous, RevisionWidth), err)
	}
	g, err := Generate(ctx, rev, []string{u.Name}, r.generationStages(ctx, rev))
	if err != nil {
		return fmt.Errorf("generate revision %s: %w", ShortRevision(m.Previous, RevisionWidth), err)
	}
	if len(g.Units) != 1 {
		return fmt.Errorf("revision %s has no unit %s", ShortRevision(m.Previous, RevisionWidth), u.Name)
	}
	ren := g.Units[0]
	t, err := r.target(ctx, gen.stack, u.Target)
	if err != nil {
		return err
	}
	objs := targetObjects(t, ren.Objects)
	held := RetryHeld(context.WithoutCancel(ctx))
	plan, err := t.Plan(held, ApplyRequest{Unit: u, Revision: rev.ID, Objects: objs, Inputs: ren.Inputs})
	if err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	cs, err := t.Apply(held, plan)
	if err := UnitFailure(cs, Aborted(err)); err != nil {
		return fmt.Errorf("roll back to revision %s: %w", ShortRevision(rev.ID, RevisionWidth), err)
	}
	rr, err := r.recorder(ctx, gen.stack, u)
	if err != nil {
		return err
	}
	back := &ReleaseMark{Revision: rev.ID, Hash: unitHash(HashObjects(ren.Objects), ren.Inputs),
		HealthySince: r.opts.Now().UTC(), Aborted: m.Hash, AbortedRevision: m.Revision}
	return rr.SetReleaseMark(held, u, back)
}

type retryHeldKey struct{}

// RetryHeld marks ctx so that targets apply a revision again where it
// failed its health check and was rolled back (a resumed or aborted
// release); without it they hold such a revision back.
func RetryHeld(ctx context.Context) context.Context {
	return context.WithValue(ctx, retryHeldKey{}, true)
}

// RetryingHeld reports whether ctx was marked by RetryHeld.
func RetryingHeld(ctx context.Context) bool {
	v, _ := ctx.Value(retryHeldKey{}).(bool)
	return v
}
