package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// A progressive unit (targets: [a, b, c] with progressive:) is applied as
// one wave unit per target (stack_release.go). A wave is applied only when
// every wave before it runs the current revision healthy and has soaked
// (releaseView.gate); where a release stands is read from the marks the
// waves' targets keep with their inventories (ReleaseRecorder), never from
// this process's memory. A failed wave freezes the release until a person
// resumes it (ResumeRelease) or aborts it (AbortRelease, which rolls the
// waves that took the revision back to the one they ran before).

// releaseCommand is the CLI verb gate messages point at.
const releaseCommand = "steward release"

// ErrNoRelease is returned for a unit that is no progressive unit of the
// current stack.
var ErrNoRelease = errors.New("no progressive unit of that name")

// ErrReleaseState is returned when a release is not in a state the request
// applies to (resuming a release that is not frozen, aborting one with
// nothing to roll back).
var ErrReleaseState = errors.New("release not in that state")

// RevisionFinder is a Source that can return an earlier revision by its ID:
// an abort generates the revision the waves ran before.
type RevisionFinder interface {
	Revision(ctx context.Context, id string) (*Revision, error)
}

func (s *subSource) Revision(ctx context.Context, id string) (*Revision, error) {
	f, ok := s.src.(RevisionFinder)
	if !ok {
		return nil, fmt.Errorf("the source cannot look revisions up")
	}
	rev, err := f.Revision(ctx, id)
	if err != nil {
		return nil, err
	}
	return SubRevision(rev, s.dir)
}

// recorder returns the ReleaseRecorder of u's target.
func (r *Reconciler) recorder(ctx context.Context, stack *Stack, u *Unit) (ReleaseRecorder, error) {
	t, err := r.target(ctx, stack, u.Target)
	if err != nil {
		return nil, err
	}
	rr, ok := t.(ReleaseRecorder)
	if !ok {
		return nil, fmt.Errorf("target %s cannot record a progressive release", u.Target)
	}
	return rr, nil
}

// readRelease reads the marks of every wave of w at gen's revision.
func (r *Reconciler) readRelease(ctx context.Context, gen *generation, w *wave) *releaseView {
	v := &releaseView{name: w.release, spec: w.spec, now: r.opts.Now()}
	for i, name := range w.units {
		ws := waveState{Unit: name, Target: w.targets[i], Hash: gen.hashes[name]}
		if u := gen.stack.Unit(name); u != nil {
			if rr, err := r.recorder(ctx, gen.stack, u); err != nil {
				ws.Err = err
			} else {
				ws.Mark, ws.Err = rr.ReleaseMark(ctx, u)
			}
		}
		v.waves = append(v.waves, ws)
	}
	return v
}

// releaseGate reads u's release and says why u may not be applied now
// ("" when it may), when to look again, and whether the apply may retry a
// revision a target holds after a failure (the wave was resumed). It fills
// ev.Release.
func (r *Reconciler) releaseGate(ctx context.Context, gen *generation, u *Unit, ev *UnitEvent) (*releaseView, string, time.Time, bool) {
	v := r.readRelease(ctx, gen, u.wave)
	ev.Release = v.status(gen.rev.ID).String()
	why, retry, held := v.gate(u.wave.index, releaseCommand)
	if why != "" && retry.IsZero() {
		// Nothing to wait for but a person or an earlier wave, which wakes
		// this one when it moves (markWave); look again now and then.
		retry = v.now.Add(r.opts.RetryMax)
		if v.waves[u.wave.index].Err != nil {
			retry = v.now.Add(r.opts.RetryMin)
		}
	}
	return v, why, retry, held
}

// markWave records on u's target how its apply at gen ended (ev), and
// updates ev.Release. A healthy wave wakes the next one. A mark that
// cannot be written fails the unit: the release cannot move without it.
func (r *Reconciler) markWave(ctx context.Context, gen *generation, u *Unit, v *releaseView, st *unitState, ev *UnitEvent) {
	k := u.wave.index
	now := r.opts.Now()
	hash := gen.hashes[u.Name]
	m := nextMark(v.waves[k].Mark, gen.rev.ID, hash, ev.Err, now)
	if !sameMark(m, v.waves[k].Mark) {
		rr, err := r.recorder(ctx, gen.stack, u)
		if err == nil {
			err = rr.SetReleaseMark(ctx, u, m)
		}
		if err != nil {
			err = fmt.Errorf("record the release on target %s: %w", u.Target, err)
			r.mu.Lock()
			st.failures++
			st.ready, st.state, st.nextRetry = false, StateFailed, now.Add(r.backoff(st.failures))
			ev.State, ev.Err, ev.NextRun = StateFailed, errors.Join(ev.Err, err), st.nextRetry
			r.mu.Unlock()
			return
		}
	}
	v.waves[k].Mark, v.now = m, now
	ev.Release = v.status(gen.rev.ID).String()
	if ev.Err == nil && k+1 < len(u.wave.units) {
		r.mu.Lock()
		if next := r.units[u.wave.units[k+1]]; next != nil {
			next.nextRetry = time.Time{}
		}
		r.mu.Unlock()
	}
}

// ReleaseStatus returns where the progressive unit name stands, read from
// its targets.
func (r *Reconciler) ReleaseStatus(ctx context.Context, name string) (ReleaseStatus, error) {
	gen, waves, err := r.release(name)
	if err != nil {
		return ReleaseStatus{}, err
	}
	v := r.readRelease(ctx, gen, waves[0].wave)
	for _, w := range v.waves {
		if w.Err != nil {
			return ReleaseStatus{}, w.Err
		}
	}
	return v.status(gen.rev.ID), nil
}

func (r *Reconciler) release(name string) (*generation, []*Unit, error) {
	r.mu.Lock()
	gen := r.current
	r.mu.Unlock()
	if gen == nil {
		return nil, nil, ErrNoRevision
	}
	waves := gen.stack.Release(name)
	if len(waves) == 0 {
		return nil, nil, fmt.Errorf("%w: %q", ErrNoRelease, name)
	}
	return gen, waves, nil
}

// ResumeRelease continues the frozen release of the progressive unit name:
// its failed waves are marked resumed, applied again on the next pass
// (past a target's hold of a revision that failed its health check), and
// the release goes on from there. A revision that arrived while it was
// frozen is the one released.
func (r *Reconciler) ResumeRelease(ctx context.Context, name string) error {
	gen, waves, err := r.release(name)
	if err != nil {
		return err
	}
	v := r.readRelease(ctx, gen, waves[0].wave)
	failed := v.failedWaves()
	if len(failed) == 0 {
		return fmt.Errorf("%w: release %s is not frozen (%s)", ErrReleaseState, name, v.status(gen.rev.ID))
	}
	for _, i := range failed {
		if err := v.waves[i].Err; err != nil {
			return err
		}
		m := *v.waves[i].Mark
		m.Failed, m.FailedAt, m.HealthySince, m.Resumed = "", time.Time{}, time.Time{}, true
		rr, err := r.recorder(ctx, gen.stack, waves[i])
		if err == nil {
			err = rr.SetReleaseMark(ctx, waves[i], &m)
		}
		if err != nil {
			return fmt.Errorf("resume wave %d of %s on target %s: %w", i+1, name, waves[i].Target, err)
		}
	}
	r.wakeRelease(waves)
	r.opts.Logger.Info("release resumed", "unit", name, "waves", len(failed))
	return nil
}

// wakeRelease makes every wave of a release due now.
func (r *Reconciler) wakeRelease(waves []*Unit) {
	r.mu.Lock()
	for _, u := range waves {
		if st := r.units[u.Name]; st != nil {
			st.nextRetry, st.failures = time.Time{}, 0
			st.attemptedHash = "" // due now (dueAt)
		}
	}
	r.mu.Unlock()
	r.Trigger()
}

// forWaves calls fn for every wave of the progressive unit name, or for
// name itself when it is no progressive unit; every call is made, and
// their errors joined.
func (r *Reconciler) forWaves(name string, fn func(unit string) error) error {
	names := []string{name}
	r.mu.Lock()
	if r.current != nil {
		names = r.current.stack.expandNames(names)
	}
	r.mu.Unlock()
	var errs []error
	for _, n := range names {
		errs = append(errs, fn(n))
	}
	return errors.Join(errs...)
}
