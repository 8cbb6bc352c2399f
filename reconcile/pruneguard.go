package reconcile

import (
	"context"
	"fmt"
)

// DefaultPruneLimit is the share of a unit's objects (in percent) one plan
// may delete when the unit sets no pruneLimit.
const DefaultPruneLimit = 50

// MassPruneError refuses a plan that would delete every object of a unit
// (it generated none, or was removed from the stack), or more than its
// pruneLimit of them. Nothing of the plan is applied.
type MassPruneError struct {
	Unit     string
	Deleting int  // objects the plan deletes (per host on machine targets)
	Had      int  // objects the unit had before the plan
	Limit    int  // the unit's pruneLimit, in percent
	All      bool // the unit would keep no object
	Removed  bool // the unit was removed from the stack
}

func (e *MassPruneError) Error() string {
	if e.All {
		why := "it generated none"
		if e.Removed {
			why = "it was removed from the stack"
		}
		return fmt.Sprintf("would delete all %d objects of unit %s: %s; refused (set allowEmpty: true on the unit, or sync it with --allow-mass-prune)", e.Deleting, e.Unit, why)
	}
	return fmt.Sprintf("would delete %d of the %d objects of unit %s (%d%%), more than its pruneLimit of %d%%; refused (raise pruneLimit, or sync it with --allow-mass-prune)",
		e.Deleting, e.Had, e.Unit, e.Deleting*100/e.Had, e.Limit)
}

// GuardPrune refuses plan when it would delete every object of unit u while
// u generated none (unless u sets allowEmpty), or more than u's pruneLimit
// of the objects it had. A plan that deletes nothing always passes.
func GuardPrune(u *Unit, plan *Plan) error {
	deleting, had, keeping := 0, 0, 0
	for _, c := range plan.Changes {
		switch c.Action {
		case Deleted:
			deleting++
			had++
		case Created:
			keeping++
		default:
			had++
			keeping++
		}
	}
	if deleting == 0 {
		return nil
	}
	if keeping == 0 && len(plan.Request.Objects) == 0 {
		if u.AllowEmpty {
			return nil
		}
		return &MassPruneError{Unit: u.Name, Deleting: deleting, Had: had, All: true}
	}
	limit := DefaultPruneLimit
	if !u.PruneLimit.IsZero() {
		limit = u.PruneLimit.N
	}
	if deleting*100 > limit*had {
		return &MassPruneError{Unit: u.Name, Deleting: deleting, Had: had, Limit: limit}
	}
	return nil
}

type massPruneKey struct{}

// AllowMassPrune marks ctx as a manual sync that lets plans through
// GuardPrune: --allow-mass-prune.
func AllowMassPrune(ctx context.Context) context.Context {
	return context.WithValue(ctx, massPruneKey{}, true)
}

// MassPruneAllowed reports whether ctx was marked by AllowMassPrune.
func MassPruneAllowed(ctx context.Context) bool {
	v, _ := ctx.Value(massPruneKey{}).(bool)
	return v
}
