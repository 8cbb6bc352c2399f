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
	var out []*Inventory
	err := eachInventory(ctx, h, func(unit string) error {
		inv, err := readInventory(ctx, h, unit)
		if err == nil {
			out = append(out, inv)
		}
		return err
	})
	return out, err
}

// inventoryHead is what Inventories needs of an inventory: decoding only
// these fields, a new revision of 10 000 units does not hold every unit's
// entries and last good objects at once.
type inventoryHead struct {
	Unit       string `json:"unit"`
	Stack      string `json:"stack,omitempty"`
	Prune      bool   `json:"prune,omitempty"`
	AllowEmpty bool   `json:"allowEmpty,omitempty"`
	Suspended  bool   `json:"suspended,omitempty"`
}

// listInventoryHeads reads the head of every unit's inventory on h (any
// stack), with readInventory's checks.
func listInventoryHeads(ctx context.Context, h *host) ([]inventoryHead, error) {
	var out []inventoryHead
	err := eachInventory(ctx, h, func(unit string) error {
		var head inventoryHead
		found, err := decodeInventory(ctx, h, unit, &head, &head.Unit)
		if found { // else removed since listed
			out = append(out, head)
		}
		return err
	})
	return out, err
}

// eachInventory calls fn with the unit of every inventory file on h.
func eachInventory(ctx context.Context, h *host, fn func(unit string) error) error {
	dir := h.path(InventoryDir)
	names, err := h.t.ReadDir(ctx, dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", dir, err)
	}
	for _, n := range names {
		unit, ok := strings.CutSuffix(n, ".json")
		if !ok || !unitFileName.MatchString(unit) {
			continue
		}
		if err := fn(unit); err != nil {
			return err
		}
	}
	return nil
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
			invs, err := listInventoryHeads(ctx, h)
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
			p := inventoryPath(h, unit)
			if err := h.t.Remove(ctx, p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove inventory: %w", err)
			}
			t.invs.drop(inventoryKey(h, p))
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
