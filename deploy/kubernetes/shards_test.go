package kubernetes

import (
	"context"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestShardsComponent: the shards component runs several replicas of
// `steward run --shards`, each named after its pod, replaced one at a time,
// and the API server accepts the result.
func TestShardsComponent(t *testing.T) {
	objs := build(t, "testdata/shards")
	dep := find(objs, "Deployment", "steward")
	if n, _, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas"); n < 2 {
		t.Errorf("replicas %d, want several", n)
	}
	if s, _, _ := unstructured.NestedString(dep.Object, "spec", "strategy", "type"); s != "RollingUpdate" {
		t.Errorf("strategy %q, want RollingUpdate", s)
	}
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	c := containers[0].(map[string]any)
	args, _, _ := unstructured.NestedStringSlice(c, "args")
	if !slices.Contains(args, "--shards=6") {
		t.Errorf("args %q lack --shards", args)
	}
	env, _, _ := unstructured.NestedSlice(c, "env")
	podName := false
	for _, e := range env {
		m := e.(map[string]any)
		path, _, _ := unstructured.NestedString(m, "valueFrom", "fieldRef", "fieldPath")
		podName = podName || (m["name"] == "POD_NAME" && path == "metadata.name")
	}
	if !podName {
		t.Errorf("env %v: want POD_NAME from metadata.name (the replica's identity)", env)
	}
	a := newApplier(t, shared.Get(t))
	if err := a.apply(context.Background(), find(objs, "Namespace", "steward-system"), false); err != nil {
		t.Fatal(err)
	}
	a.warn.take()
	if err := a.apply(context.Background(), dep, true); err != nil {
		t.Errorf("server-side dry-run of %s: %v", id(dep), err)
	}
	if w := a.warn.take(); len(w) > 0 {
		t.Errorf("dry-run %s: warnings %q", id(dep), w)
	}
}
