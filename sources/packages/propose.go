package packages

import (
	"context"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/writeback"
)

// LockProposal is a write-back proposal (the image automation's one path
// to commits and pull requests) that refreshes steward.lock: every package
// unit resolved afresh on the branch's head. The units whose entries
// change are then generated and checked by the write-back before anything
// is committed.
func (r *Resolver) LockProposal() writeback.Proposal {
	return writeback.Proposal{Policy: "packages", Detail: LockFile, Apply: func(ctx context.Context, wc *writeback.WorkCopy) ([]writeback.Change, error) {
		tree := wc.Root.FS()
		stack, err := reconcile.LoadStack(tree)
		if err != nil {
			return nil, err
		}
		old, err := ReadLock(tree)
		if err != nil {
			return nil, err
		}
		next, changes, err := r.Update(ctx, stack, old)
		if err != nil || len(changes) == 0 {
			return nil, err
		}
		b, err := next.Marshal()
		if err != nil {
			return nil, err
		}
		if err := wc.Root.WriteFile(LockFile, b, 0o644); err != nil {
			return nil, err
		}
		out := make([]writeback.Change, 0, len(changes))
		for _, c := range changes {
			out = append(out, writeback.Change{Unit: c.Unit, File: LockFile, Old: c.From, New: c.To, Policy: "package " + c.Unit})
		}
		return out, nil
	}}
}

// HasPackageUnits reports whether stack has a package unit.
func HasPackageUnits(stack *reconcile.Stack) bool {
	for i := range stack.Units {
		if stack.Units[i].Package != nil {
			return true
		}
	}
	return false
}
