package kubernetes

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stewardhq/steward/reconcile"
)

var _ reconcile.Collector = (*Target)(nil)

// Inventories lists the units of stack that keep an inventory in the
// cluster. Inventories of other stacks, and those recording no stack, are
// not listed.
func (t *Target) Inventories(ctx context.Context, stack string) ([]reconcile.InventoryInfo, error) {
	var list corev1.ConfigMapList
	if err := t.own.client.List(ctx, &list, client.InNamespace(t.opts.InventoryNamespace),
		client.MatchingLabels{inventoryLabel: "true"}); err != nil {
		return nil, fmt.Errorf("list inventories: %w", err)
	}
	var out []reconcile.InventoryInfo
	for _, cm := range list.Items {
		d := cm.Data
		if stack == "" || !reconcile.SameStack(d[inventoryStackKey], stack) || d["unit"] == "" {
			continue
		}
		out = append(out, reconcile.InventoryInfo{Unit: d["unit"], Prune: d["prune"] == "true", AllowEmpty: d["allowEmpty"] == "true",
			Suspended: d[suspendKey] == "true"})
	}
	slices.SortFunc(out, func(a, b reconcile.InventoryInfo) int { return strings.Compare(a.Unit, b.Unit) })
	return out, nil
}

// DropInventory deletes the inventory of unit of stack and returns the
// objects it recorded. An inventory of another stack is refused.
func (t *Target) DropInventory(ctx context.Context, unit, stack string) ([]reconcile.ObjectID, error) {
	inv, _, err := t.readInventory(ctx, unit, stack)
	if err != nil {
		return nil, err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: t.opts.InventoryNamespace, Name: inventoryPrefix + unit}}
	if err := t.own.client.Delete(ctx, cm); err != nil && !apierrors.IsNotFound(err) {
		return nil, &InventoryError{Unit: unit, Op: "delete", Err: err}
	}
	ids := make([]reconcile.ObjectID, 0, len(inv))
	for id := range inv {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, reconcile.ObjectID.Compare)
	return ids, nil
}
