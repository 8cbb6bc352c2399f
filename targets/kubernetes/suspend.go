package kubernetes

import (
	"context"

	"github.com/stewardhq/steward/reconcile"
)

var _ reconcile.Suspender = (*Target)(nil)

// suspendKey is the inventory's data key of a suspension set through the
// API. It is written by its own field manager, so that the inventory
// writes of applies (which own the rest of the data) leave it alone.
const suspendKey = "suspended"

// SetSuspended records (or clears) a suspension of u in its inventory
// ConfigMap, creating it when the unit has none yet. Another stack's
// inventory is refused.
func (t *Target) SetSuspended(ctx context.Context, u *reconcile.Unit, suspended bool) error {
	if _, _, err := t.readInventory(ctx, u.Name, u.StackName()); err != nil {
		return err
	}
	data := map[string]string{"unit": u.Name, inventoryStackKey: u.StackName()}
	if suspended {
		data[suspendKey] = "true"
	}
	cm := t.inventoryObject(u.Name, data)
	if err := t.applyOwn(ctx, cm, t.opts.FieldManager+"-suspend"); err != nil {
		return &InventoryError{Unit: u.Name, Op: "write", Err: err}
	}
	return nil
}
