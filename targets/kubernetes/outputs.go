package kubernetes

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stewardhq/steward/reconcile"
)

// A unit's outputs are kept beside its inventory, in a Secret (some are
// sensitive) in Options.InventoryNamespace named outputsPrefix + unit,
// whose key outputsKey holds them as JSON.
const (
	outputsPrefix = "outputs-"
	outputsKey    = "outputs.json"
	outputsLabel  = "steward.dev/outputs"
)

var _ reconcile.OutputStore = (*Target)(nil)

// ReadOutputs returns the outputs recorded for unit, nil when none.
func (t *Target) ReadOutputs(ctx context.Context, unit string) (map[string]reconcile.OutputValue, error) {
	var s corev1.Secret
	key := client.ObjectKey{Namespace: t.opts.InventoryNamespace, Name: outputsPrefix + unit}
	if err := t.own.client.Get(ctx, key, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, &InventoryError{Unit: unit, Op: "read outputs", Err: err}
	}
	var out map[string]reconcile.OutputValue
	if err := json.Unmarshal(s.Data[outputsKey], &out); err != nil {
		return nil, &InventoryError{Unit: unit, Op: "read outputs", Err: fmt.Errorf("Secret %s/%s: %w", key.Namespace, key.Name, err)}
	}
	return out, nil
}

// WriteOutputs replaces the outputs recorded for unit. The Secret is owned
// by the unit's inventory ConfigMap, so Kubernetes' garbage collector
// deletes it with the inventory when the unit leaves the stack (steward
// itself may not delete Secrets in its namespace: its credentials are one).
func (t *Target) WriteOutputs(ctx context.Context, unit string, outs map[string]reconcile.OutputValue) error {
	data, err := json.Marshal(outs)
	if err != nil {
		return &InventoryError{Unit: unit, Op: "write outputs", Err: err}
	}
	s := &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      outputsPrefix + unit,
			Namespace: t.opts.InventoryNamespace,
			Labels:    map[string]string{outputsLabel: "true", UnitLabel: unit},
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{outputsKey: data},
	}
	var inv corev1.ConfigMap
	err = t.own.client.Get(ctx, client.ObjectKey{Namespace: t.opts.InventoryNamespace, Name: inventoryPrefix + unit}, &inv)
	switch {
	case err == nil:
		s.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: inv.Name, UID: inv.UID}}
	case !apierrors.IsNotFound(err):
		return &InventoryError{Unit: unit, Op: "write outputs", Err: err}
	}
	if err := t.applyOwn(ctx, s, t.opts.FieldManager); err != nil {
		return &InventoryError{Unit: unit, Op: "write outputs", Err: err}
	}
	return nil
}

// ResolveOutput reads a jsonPath output: the object must be one the unit
// applied (it is in the unit's inventory), read with the unit's identity.
func (t *Target) ResolveOutput(ctx context.Context, u *reconcile.Unit, name string, spec reconcile.OutputSpec) (string, error) {
	j := spec.JSONPath
	if j == nil {
		return "", fmt.Errorf("a kubernetes target records jsonPath outputs, not %s", spec.Kind())
	}
	kind, objName, ok := j.Parts()
	if !ok {
		return "", fmt.Errorf("object %q: want Kind/name", j.Object)
	}
	gk := schema.GroupKind{Kind: kind}
	if i := strings.LastIndex(kind, "/"); i >= 0 {
		gk = schema.GroupKind{Group: kind[:i], Kind: kind[i+1:]}
	}
	mapping, err := t.mapper.RESTMapping(gk)
	if err != nil {
		return "", fmt.Errorf("object %s: %w", j.Object, err)
	}
	ns := ""
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		// As Plan defaults it: the output's, the unit's, the target's.
		ns = j.Namespace
		if ns == "" {
			ns = u.Namespace
		}
		if ns == "" {
			ns = t.opts.Namespace
		}
	}
	id := reconcile.ObjectID{Group: gk.Group, Kind: gk.Kind, Namespace: ns, Name: objName}
	inv, _, err := t.readInventory(ctx, u.Name, u.StackName())
	if err != nil {
		return "", err
	}
	if _, ok := inv[id]; !ok {
		return "", fmt.Errorf("%s is not an object unit %s applied", id, u.Name)
	}
	ident, err := t.identityFor(u)
	if err != nil {
		return "", err
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(mapping.GroupVersionKind)
	if err := ident.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: objName}, obj); err != nil {
		return "", fmt.Errorf("read %s: %w", id, err)
	}
	v, err := reconcile.EvalJSONPath(j.Path, obj.Object)
	if err != nil {
		return "", err
	}
	// A Secret's data is base64 on the wire; the output is the key's value.
	if gk == (schema.GroupKind{Kind: "Secret"}) && strings.HasPrefix(strings.TrimLeft(j.Path, "{ "), ".data.") {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return "", fmt.Errorf("%s: %s is not base64", id, j.Path)
		}
		v = string(b)
	}
	return v, nil
}
