package reconcile

import "context"

// Ownership says which units this reconciler may apply when several
// replicas share one stack (steward run --shards). Units it does not own
// are neither planned nor applied here; their dependents ask External.
type Ownership interface {
	// Owns reports whether this replica reconciles unit now.
	Owns(unit string) bool
	// Hold is called right before a unit is applied. It fails when this
	// replica can no longer vouch that no other replica applies the unit
	// until the apply ends; the context it returns is cancelled when that
	// stops being true. release is called when the apply ended.
	Hold(ctx context.Context, unit string) (held context.Context, release func(), err error)
	// External returns the revision at which another replica last
	// reconciled unit and whether it is ready there.
	External(unit string) (revision string, ready bool)
}

// owns reports whether this reconciler applies unit: always without an
// Ownership.
func (r *Reconciler) owns(unit string) bool {
	return r.opts.Ownership == nil || r.opts.Ownership.Owns(unit)
}

// externalReady reports whether dependency d, reconciled by another
// replica, is ready at gen's revision.
func (r *Reconciler) externalReady(gen *generation, d string) (bool, string) {
	rev, ready := r.opts.Ownership.External(d)
	switch {
	case rev == "":
		return false, "not reconciled by any replica yet"
	case !ready:
		return false, "not ready on its replica"
	case rev != gen.rev.ID:
		return false, "at revision " + ShortRevision(rev, RevisionWidth) + " on its replica"
	}
	return true, ""
}

// holdForApply asks the Ownership, if any, to vouch for an apply of u;
// without one it returns ctx and a no-op release.
func (r *Reconciler) holdForApply(ctx context.Context, u *Unit) (context.Context, func(), error) {
	if r.opts.Ownership == nil {
		return ctx, func() {}, nil
	}
	return r.opts.Ownership.Hold(ctx, u.Name)
}
