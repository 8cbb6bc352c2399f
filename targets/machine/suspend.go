package machine

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/stewardhq/steward/reconcile"
)

var _ reconcile.Suspender = (*Target)(nil)

// SetSuspended records (or clears) a suspension of u in its inventory on
// every host, creating the inventory where the unit has none yet. Another
// stack's inventory is refused. Every host is tried; the error names those
// that failed.
func (t *Target) SetSuspended(ctx context.Context, u *reconcile.Unit, suspended bool) error {
	return t.updateInventories(ctx, u, func(inv *Inventory) bool {
		if inv.Suspended == suspended {
			return false
		}
		inv.Suspended = suspended
		return true
	})
}

// updateInventories changes u's inventory on every host with change (which
// reports whether it changed anything), creating the inventory where the
// unit has none yet, under the lock applies take. Another stack's
// inventory is refused. Every host is tried; the error names those that
// failed.
func (t *Target) updateInventories(ctx context.Context, u *reconcile.Unit, change func(*Inventory) bool) error {
	if !unitFileName.MatchString(u.Name) {
		return fmt.Errorf("machine target: unit name %q cannot name an inventory file", u.Name)
	}
	var mu sync.Mutex
	var errs []error
	t.forHosts(ctx, len(t.cfg.Hosts), func(ctx context.Context, i int) {
		name := t.cfg.Hosts[i]
		err := t.onHost(ctx, name, func(h *host) error {
			defer t.lockInventory(h.name, u.Name)()
			inv, err := readInventory(ctx, h, u.Name)
			if err != nil {
				return err
			}
			if err := reconcile.CheckInventoryOwner("host "+name, u.Name, inv.Stack, u.StackName()); err != nil {
				return err
			}
			if !change(inv) && reconcile.SameStack(inv.Stack, u.StackName()) {
				return nil
			}
			inv.Stack = u.StackName()
			return writeInventory(ctx, h, inv)
		})
		if err != nil {
			mu.Lock()
			errs = append(errs, fmt.Errorf("host %s: %w", name, err))
			mu.Unlock()
		}
	})
	return errors.Join(errs...)
}
