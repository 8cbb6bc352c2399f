package kubernetes

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stewardhq/steward/reconcile"
)

// The inventory of a unit is a ConfigMap in Options.InventoryNamespace named
// inventoryPrefix + unit. Its binaryData holds the gzipped entries, one line
// each: group kind namespace name version desired-fingerprint live-fingerprint
// (empty fields as "-"), sorted by identity.
const (
	inventoryPrefix = "unit-"
	inventoryKey    = "inventory.gz"
	inventoryLabel  = "steward.dev/inventory"
	// inventoryStackKey is the data key recording the identity of the
	// stack the unit belongs to.
	inventoryStackKey = "stack"
)

// entry is one object a unit applied and the server accepted.
type entry struct {
	ID      reconcile.ObjectID
	Version string
	// Desired fingerprints the object as steward last sent it, Live the
	// fields steward manages as the server stored them after that; both
	// empty when unknown. See fingerprint.go.
	Desired, Live string
}

func (e entry) gvk() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: e.ID.Group, Version: e.Version, Kind: e.ID.Kind}
}

// inventory is a unit's entries by identity.
type inventory map[reconcile.ObjectID]entry

func encodeInventory(inv inventory) ([]byte, error) {
	ids := make([]reconcile.ObjectID, 0, len(inv))
	for id := range inv {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, reconcile.ObjectID.Compare)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for _, id := range ids {
		e := inv[id]
		fields := []string{id.Group, id.Kind, id.Namespace, id.Name, e.Version, e.Desired, e.Live}
		for i, f := range fields {
			if f == "" {
				fields[i] = "-"
			}
		}
		fmt.Fprintln(zw, strings.Join(fields, " "))
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeInventory(data []byte) (inventory, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	inv := inventory{}
	sc := bufio.NewScanner(zr)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) != 7 {
			return nil, fmt.Errorf("line %d: want 7 fields, got %d", line, len(f))
		}
		for i := range f {
			if f[i] == "-" {
				f[i] = ""
			}
		}
		id := reconcile.ObjectID{Group: f[0], Kind: f[1], Namespace: f[2], Name: f[3]}
		if id.Kind == "" || id.Name == "" || f[4] == "" {
			return nil, fmt.Errorf("line %d: kind, name and version are required", line)
		}
		inv[id] = entry{ID: id, Version: f[4], Desired: f[5], Live: f[6]}
	}
	if err := sc.Err(); err != nil && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	return inv, nil
}

// InventoryError is a unit's inventory that cannot be read or written.
type InventoryError struct {
	Unit string
	Op   string // "read", "write" or "delete"
	Err  error
}

func (e *InventoryError) Error() string {
	return fmt.Sprintf("%s inventory of unit %s: %v", e.Op, e.Unit, e.Err)
}

func (e *InventoryError) Unwrap() error { return e.Err }

// readInventory returns the unit's inventory (empty when there is none yet)
// and the stack recorded in it ("" for none, or an inventory written before
// stacks had an identity, which stack adopts). An inventory another stack
// wrote is refused (*reconcile.StackCollisionError) and left as it is.
func (t *Target) readInventory(ctx context.Context, unit, stack string) (inventory, string, error) {
	var cm corev1.ConfigMap
	key := client.ObjectKey{Namespace: t.opts.InventoryNamespace, Name: inventoryPrefix + unit}
	if err := t.own.client.Get(ctx, key, &cm); err != nil {
		if apierrors.IsNotFound(err) {
			return inventory{}, "", nil
		}
		return nil, "", &InventoryError{Unit: unit, Op: "read", Err: err}
	}
	owner := cm.Data[inventoryStackKey]
	if err := reconcile.CheckInventoryOwner("target "+t.opts.Name, unit, owner, stack); err != nil {
		return nil, "", err
	}
	data, ok := cm.BinaryData[inventoryKey]
	if !ok {
		return inventory{}, owner, nil
	}
	inv, err := decodeInventory(data)
	if err != nil {
		return nil, "", &InventoryError{Unit: unit, Op: "read", Err: fmt.Errorf("ConfigMap %s/%s: %w", key.Namespace, key.Name, err)}
	}
	return inv, owner, nil
}

// writeInventory stores inv for u by server-side apply, creating the
// inventory namespace when needed. The unit's stack, prune and allowEmpty
// are recorded with it, for collecting it once the stack drops the unit.
func (t *Target) writeInventory(ctx context.Context, u *reconcile.Unit, revision string, inv inventory) error {
	unit := u.Name
	data, err := encodeInventory(inv)
	if err != nil {
		return &InventoryError{Unit: unit, Op: "write", Err: err}
	}
	cm := t.inventoryObject(unit, map[string]string{"unit": unit, inventoryStackKey: u.StackName(), "revision": revision, "objects": fmt.Sprint(len(inv)),
		"prune": fmt.Sprint(u.Prune), "allowEmpty": fmt.Sprint(u.AllowEmpty)})
	cm.BinaryData = map[string][]byte{inventoryKey: data}
	if err := t.applyOwn(ctx, cm, t.opts.FieldManager); err != nil {
		return &InventoryError{Unit: unit, Op: "write", Err: err}
	}
	return nil
}

// inventoryObject is unit's inventory ConfigMap holding data, as steward
// applies it (the inventory itself, a suspension, a release mark: each by
// its own field manager).
func (t *Target) inventoryObject(unit string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      inventoryPrefix + unit,
			Namespace: t.opts.InventoryNamespace,
			Labels:    map[string]string{inventoryLabel: "true", UnitLabel: unit},
		},
		Data: data,
	}
}

// applyOwn server-side applies obj, one of steward's own objects in the
// inventory namespace, as field manager manager, creating the namespace
// the first time. Errors are the API server's, or name the namespace.
func (t *Target) applyOwn(ctx context.Context, obj client.Object, manager string) error {
	apply := func() error {
		return t.own.client.Patch(ctx, obj, client.Apply, client.FieldOwner(manager), client.ForceOwnership)
	}
	err := apply()
	if !apierrors.IsNotFound(err) {
		return err
	}
	ns := &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: t.opts.InventoryNamespace},
	}
	if err := t.own.client.Patch(ctx, ns, client.Apply, client.FieldOwner(t.opts.FieldManager)); err != nil {
		return fmt.Errorf("create namespace %s: %w", ns.Name, err)
	}
	return apply()
}

// allInventories returns every unit's inventory but the given unit's, for
// pruning namespaces and CRDs only when no unit has objects left in them.
func (t *Target) otherInventories(ctx context.Context, unit string) ([]inventory, error) {
	var list corev1.ConfigMapList
	if err := t.own.client.List(ctx, &list, client.InNamespace(t.opts.InventoryNamespace),
		client.MatchingLabels{inventoryLabel: "true"}); err != nil {
		return nil, &InventoryError{Unit: unit, Op: "read", Err: fmt.Errorf("list inventories: %w", err)}
	}
	var out []inventory
	for _, cm := range list.Items {
		if cm.Name == inventoryPrefix+unit {
			continue
		}
		inv, err := decodeInventory(cm.BinaryData[inventoryKey])
		if err != nil {
			return nil, &InventoryError{Unit: unit, Op: "read", Err: fmt.Errorf("ConfigMap %s: %w", cm.Name, err)}
		}
		out = append(out, inv)
	}
	return out, nil
}
