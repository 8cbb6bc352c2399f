package kubernetes

import (
	"bytes"
	"encoding/json"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/stewardhq/steward/reconcile"
)

const deployFields = `{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:replicas":{},
 "f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:name":{},
 "f:ports":{"k:{\"containerPort\":8080,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}},
 "f:finalizers":{"v:\"a\"":{}}}`

func deployment(mutate func(m map[string]any)) *unstructured.Unstructured {
	o := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "app", "labels": map[string]any{"app": "app", "other": "x"}},
		"spec": map[string]any{
			"replicas": int64(2),
			"template": map[string]any{"spec": map[string]any{"containers": []any{
				map[string]any{"name": "sidecar", "image": "side:1"},
				map[string]any{"name": "app", "image": "app:1", "ports": []any{
					map[string]any{"containerPort": int64(8080), "protocol": "TCP"}}},
			}}},
		},
		"finalizers": []any{"a", "b"},
		"status":     map[string]any{"replicas": int64(2)},
	}}
	if mutate != nil {
		mutate(o.Object)
	}
	o.SetManagedFields([]metav1.ManagedFieldsEntry{{
		Manager: "steward", Operation: metav1.ManagedFieldsOperationApply, APIVersion: "apps/v1",
		FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: compact(deployFields)},
	}})
	return o
}

func compact(s string) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func container(m map[string]any, i int) map[string]any {
	return m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[i].(map[string]any)
}

func TestLiveFingerprint(t *testing.T) {
	base := liveFingerprint(deployment(nil), "steward")
	if base == "" {
		t.Fatal("no fingerprint for a managed object")
	}
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		same   bool
	}{
		{"status changes", func(m map[string]any) { m["status"] = map[string]any{"replicas": int64(5)} }, true},
		{"unmanaged label", func(m map[string]any) { m["metadata"].(map[string]any)["labels"].(map[string]any)["other"] = "y" }, true},
		{"unmanaged container", func(m map[string]any) { container(m, 0)["image"] = "side:2" }, true},
		{"containers reordered", func(m map[string]any) {
			c := m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
			l := c["containers"].([]any)
			c["containers"] = []any{l[1], l[0]}
		}, true},
		{"managed image", func(m map[string]any) { container(m, 1)["image"] = "app:2" }, false},
		{"managed replicas", func(m map[string]any) { m["spec"].(map[string]any)["replicas"] = int64(3) }, false},
		{"managed label removed", func(m map[string]any) { delete(m["metadata"].(map[string]any)["labels"].(map[string]any), "app") }, false},
		{"keyed item removed", func(m map[string]any) { container(m, 1)["ports"] = []any{} }, false},
		{"set item removed", func(m map[string]any) { m["finalizers"] = []any{"b"} }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := liveFingerprint(deployment(tc.mutate), "steward")
			if (got == base) != tc.same {
				t.Errorf("fingerprint same = %v, want %v", got == base, tc.same)
			}
		})
	}
	// No apply entry of the manager, or one for another version: unknown.
	o := deployment(nil)
	if liveFingerprint(o, "someone-else") != "" {
		t.Error("fingerprint for a manager without fields")
	}
	mf := o.GetManagedFields()
	mf[0].APIVersion = "apps/v1beta2"
	o.SetManagedFields(mf)
	if liveFingerprint(o, "steward") != "" {
		t.Error("fingerprint across API versions")
	}
	// Changed ownership with the same values differs.
	o = deployment(nil)
	mf = o.GetManagedFields()
	mf[0].FieldsV1.Raw = compact(`{"f:spec":{"f:replicas":{}}}`)
	o.SetManagedFields(mf)
	if liveFingerprint(o, "steward") == base {
		t.Error("fingerprint ignores the managed field set")
	}
}

func TestDesiredFingerprint(t *testing.T) {
	a, b := deployment(nil), deployment(nil)
	if desiredFingerprint(a, false) != desiredFingerprint(b, false) {
		t.Error("equal objects differ")
	}
	if desiredFingerprint(a, false) == desiredFingerprint(a, true) {
		t.Error("force not part of the fingerprint")
	}
	container(b.Object, 1)["image"] = "app:2"
	if desiredFingerprint(a, false) == desiredFingerprint(b, false) {
		t.Error("changed objects fingerprint the same")
	}
}

func TestInventoryRoundTrip(t *testing.T) {
	inv := inventory{}
	for _, e := range []entry{
		{ID: reconcile.ObjectID{Kind: "ConfigMap", Namespace: "ns", Name: "a"}, Version: "v1", Desired: "d1", Live: "l1"},
		{ID: reconcile.ObjectID{Group: "apps", Kind: "Deployment", Namespace: "ns", Name: "b"}, Version: "v1"},
		{ID: reconcile.ObjectID{Kind: "Namespace", Name: "ns"}, Version: "v1", Desired: "d3"},
	} {
		inv[e.ID] = e
	}
	data, err := encodeInventory(inv)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeInventory(data)
	if err != nil {
		t.Fatal(err)
	}
	if !sameInventory(inv, got) {
		t.Errorf("round trip: %v != %v", got, inv)
	}
}

func FuzzDecodeInventory(f *testing.F) {
	inv := inventory{{Kind: "ConfigMap", Name: "a"}: {ID: reconcile.ObjectID{Kind: "ConfigMap", Name: "a"}, Version: "v1"}}
	data, _ := encodeInventory(inv)
	f.Add(data)
	f.Add([]byte("not gzip"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := decodeInventory(data)
		if err != nil {
			return
		}
		again, err := encodeInventory(inv)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeInventory(again)
		if err != nil || !sameInventory(inv, back) {
			t.Fatalf("re-encoded inventory differs: %v", err)
		}
	})
}
