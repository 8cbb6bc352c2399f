package machine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"github.com/stewardhq/steward/reconcile"
)

var _ reconcile.Collector = (*Target)(nil)

// listInventories reads every unit's inventory on h (any stack).
func listInventories(ctx context.Context, h *host) ([]*Inventory, error) {
	dir := h.path(InventoryDir)
	names, err := h.t.ReadDir(ctx, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []*Inventory
	for _, n := range names {
		unit, ok := strings.CutSuffix(n, ".json")
		if !ok || !unitFileName.MatchString(unit) {
			continue
		}
		inv, err := readInventory(ctx, h, unit)
		if err != nil {
			return nil, err
		}
		out = append(out, inv)
	}
	return out, nil
}

// managedElsewhere returns, for the entries other units' inventories on h
// hold, the unit holding each (by entry key): an object another unit now
// declares is adopted by it, never pruned.
func managedElsewhere(ctx context.Context, h *host, unit string) (map[string]string, error) {
	invs, err := listInventories(ctx, h)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, inv := range invs {
		if inv.Unit == unit {
			continue
		}
		for i := range inv.Entries {
			out[inv.Entries[i].key()] = inv.Unit
		}
	}
	return out, nil
}

// Inventories lists the units of stack that keep an inventory on any host
// of the target.
func (t *Target) Inventories(ctx context.Context, stack string) ([]reconcile.InventoryInfo, error) {
	if stack == "" {
		return nil, nil
	}
	var mu sync.Mutex
	found := map[string]reconcile.InventoryInfo{}
	var errs []error
	t.forHosts(ctx, len(t.cfg.Hosts), func(ctx context.Context, i int) {
		err := t.onHost(ctx, t.cfg.Hosts[i], func(h *host) error {
			invs, err := listInventories(ctx, h)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for _, inv := range invs {
				if reconcile.SameStack(inv.Stack, stack) {
					info := found[inv.Unit]
					info.Unit = inv.Unit
					info.Prune = info.Prune || inv.Prune
					info.AllowEmpty = info.AllowEmpty || inv.AllowEmpty
					info.Suspended = info.Suspended || inv.Suspended
					found[inv.Unit] = info
				}
			}
			return nil
		})
		if err != nil {
			mu.Lock()
			errs = append(errs, fmt.Errorf("host %s: %w", t.cfg.Hosts[i], err))
			mu.Unlock()
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make([]reconcile.InventoryInfo, 0, len(found))
	for _, info := range found {
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b reconcile.InventoryInfo) int { return strings.Compare(a.Unit, b.Unit) })
	return out, nil
}

// DropInventory removes the unit's inventory and recorded outputs from
// every host and returns the objects they recorded. Another stack's inventory is refused.
func (t *Target) DropInventory(ctx context.Context, unit, stack string) ([]reconcile.ObjectID, error) {
	var mu sync.Mutex
	var ids []reconcile.ObjectID
	var errs []error
	t.forHosts(ctx, len(t.cfg.Hosts), func(ctx context.Context, i int) {
		name := t.cfg.Hosts[i]
		err := t.onHost(ctx, name, func(h *host) error {
			inv, err := readInventory(ctx, h, unit)
			if err != nil {
				return err
			}
			if err := reconcile.CheckInventoryOwner("host "+name, unit, inv.Stack, stack); err != nil {
				return err
			}
			// The outputs first: an inventory left without them is collected
			// again next pass; outputs left without an inventory never were.
			if err := h.t.Remove(ctx, outputsPath(h, unit)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove outputs: %w", err)
			}
			if err := h.t.Remove(ctx, inventoryPath(h, unit)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove inventory: %w", err)
			}
			mu.Lock()
			defer mu.Unlock()
			for i := range inv.Entries {
				if id := inv.Entries[i].id(); !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
			return nil
		})
		if err != nil {
			mu.Lock()
			errs = append(errs, fmt.Errorf("host %s: %w", name, err))
			mu.Unlock()
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(ids, reconcile.ObjectID.Compare)
	return ids, nil
}

// onHost dials name and runs fn on it.
func (t *Target) onHost(ctx context.Context, name string, fn func(*host) error) error {
	tr, err := t.dial(ctx, name)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer tr.Close()
	return fn(t.host(tr, name))
}
