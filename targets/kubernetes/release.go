package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stewardhq/steward/reconcile"
)

var _ reconcile.ReleaseRecorder = (*Target)(nil)

// releaseKey is the inventory's data key of a wave unit's release mark
// (JSON). Like a suspension it is written by its own field manager, so the
// inventory writes of applies leave it alone.
const releaseKey = "release"

// ReleaseMark returns u's release mark from its inventory ConfigMap, nil
// when it has none. Another stack's inventory is refused.
func (t *Target) ReleaseMark(ctx context.Context, u *reconcile.Unit) (*reconcile.ReleaseMark, error) {
	var cm corev1.ConfigMap
	key := client.ObjectKey{Namespace: t.opts.InventoryNamespace, Name: inventoryPrefix + u.Name}
	if err := t.own.client.Get(ctx, key, &cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, &InventoryError{Unit: u.Name, Op: "read", Err: err}
	}
	if err := reconcile.CheckInventoryOwner("target "+t.opts.Name, u.Name, cm.Data[inventoryStackKey], u.StackName()); err != nil {
		return nil, err
	}
	data, ok := cm.Data[releaseKey]
	if !ok {
		return nil, nil
	}
	var m reconcile.ReleaseMark
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		return nil, &InventoryError{Unit: u.Name, Op: "read", Err: fmt.Errorf("ConfigMap %s/%s: %s: %w", key.Namespace, key.Name, releaseKey, err)}
	}
	return &m, nil
}

// SetReleaseMark records m as u's release mark in its inventory ConfigMap
// (nil removes it), creating the ConfigMap when the unit has none yet.
// Another stack's inventory is refused.
func (t *Target) SetReleaseMark(ctx context.Context, u *reconcile.Unit, m *reconcile.ReleaseMark) error {
	if _, _, err := t.readInventory(ctx, u.Name, u.StackName()); err != nil {
		return err
	}
	data := map[string]string{"unit": u.Name, inventoryStackKey: u.StackName()}
	if m != nil {
		b, err := json.Marshal(m)
		if err != nil {
			return &InventoryError{Unit: u.Name, Op: "write", Err: err}
		}
		data[releaseKey] = string(b)
	}
	cm := t.inventoryObject(u.Name, data)
	if err := t.applyOwn(ctx, cm, t.opts.FieldManager+"-release"); err != nil {
		return &InventoryError{Unit: u.Name, Op: "write", Err: err}
	}
	return nil
}
