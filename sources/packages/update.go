package packages

import (
	"context"
	"fmt"
	"strings"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/sources/git"
)

// Change is one unit's lock entry changed by Update.
type Change struct {
	Unit string
	// From is the version locked before ("" for a new entry), To the one
	// locked now ("" for an entry removed with its unit).
	From, To string
}

func (c Change) String() string {
	switch {
	case c.From == "":
		return fmt.Sprintf("%s: locked %s", c.Unit, c.To)
	case c.To == "":
		return fmt.Sprintf("%s: removed (was %s)", c.Unit, c.From)
	}
	return fmt.Sprintf("%s: %s -> %s", c.Unit, c.From, c.To)
}

// Update resolves every package unit of stack afresh (the highest version
// its range or channel admits, or the default branch on edge without any
// version), and returns the lock that records it with what changed from
// old. Nothing is written, and the units' with: are not checked (verify
// does that, naming their lines). Every unit that cannot be resolved is an error
// naming it; the lock is then not returned.
func (r *Resolver) Update(ctx context.Context, stack *reconcile.Stack, old *Lock) (*Lock, []Change, error) {
	next := &Lock{APIVersion: reconcile.StackAPIVersion, Kind: LockKind}
	var errs reconcile.Errors
	listed := map[string]*git.Refs{}
	locked := map[string]bool{}
	for i := range stack.Units {
		u := &stack.Units[i]
		if u.Package == nil || locked[lockName(u)] {
			continue // the waves of a progressive unit share its one entry
		}
		locked[lockName(u)] = true
		e, err := r.resolveFresh(ctx, stack, u, listed)
		if err != nil {
			errs = append(errs, &reconcile.UnitError{Unit: u.Name, Err: err})
			continue
		}
		next.Packages = append(next.Packages, *e)
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	return next, diffLocks(old, next), nil
}

// resolveFresh picks and reads one unit's package; refs lists are shared
// across units of one repository.
func (r *Resolver) resolveFresh(ctx context.Context, stack *reconcile.Stack, u *reconcile.Unit, listed map[string]*git.Refs) (*LockEntry, error) {
	ref := u.Package
	if ref.OCI != "" {
		return r.freshOCI(ctx, stack, u)
	}
	src, err := r.git.get(ref.Git)
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", ref, err)
	}
	refs, ok := listed[ref.Git]
	if !ok {
		r.stats.RefLists.Add(1)
		if refs, err = src.ListRefs(ctx); err != nil {
			return nil, fmt.Errorf("package %s: %w", ref, err)
		}
		listed[ref.Git] = refs
	}
	var names []string
	for name := range refs.Commits {
		if strings.HasPrefix(name, "refs/tags/") {
			names = append(names, name)
		}
	}
	e := &LockEntry{Unit: lockName(u), Package: *ref}
	v, err := Pick(ref, Versions(ref, names))
	switch {
	case err == nil:
		e.Version, e.Ref = v.Tag, v.Ref
	case followsHead(ref) && refs.Head != "":
		e.Version, e.Ref = strings.TrimPrefix(refs.Head, "refs/heads/"), refs.Head
	default:
		return nil, err
	}
	e.Commit = refs.Commits[e.Ref]
	rev, err := r.checkout(ctx, src, refs, ref, e)
	if err != nil {
		return nil, err
	}
	l, err := r.load(rev, ref, e.Version)
	if err != nil {
		return nil, err
	}
	e.Hash = l.hash
	return e, nil
}

// diffLocks lists the entries that differ between old and next.
func diffLocks(old, next *Lock) []Change {
	var out []Change
	for _, n := range next.Packages {
		o := old.Entry(n.Unit)
		switch {
		case o == nil:
			out = append(out, Change{Unit: n.Unit, To: n.Version})
		case *o != n:
			from := o.Version
			if o.Version == n.Version {
				from += " (" + reconcile.ShortRevision(o.Commit+o.Digest, reconcile.RevisionWidth) + ")"
			}
			out = append(out, Change{Unit: n.Unit, From: from, To: n.Version})
		}
	}
	if old != nil {
		for _, o := range old.Packages {
			if next.Entry(o.Unit) == nil {
				out = append(out, Change{Unit: o.Unit, From: o.Version})
			}
		}
	}
	return out
}
