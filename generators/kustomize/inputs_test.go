package kustomize

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stewardhq/steward/reconcile"
)

// A kustomization takes the unit's inputs from steward-inputs.yaml with
// replacements, in process and isolated; the ConfigMap itself is not an
// object of the unit. Without inputs the file does not exist, and
// kustomize says so.
func TestInputsReplacements(t *testing.T) {
	tree := fstest.MapFS{
		"app/kustomization.yaml": {Data: []byte(`namespace: shop
namePrefix: prod-
resources: [deployment.yaml, steward-inputs.yaml]
replacements:
  - source: {kind: ConfigMap, name: steward-inputs, fieldPath: data.dbHost}
    targets:
      - select: {kind: Deployment, name: web}
        fieldPaths: ["spec.template.spec.containers.[name=web].env.[name=DB_HOST].value"]
  - source: {kind: ConfigMap, name: steward-inputs, fieldPath: data.replicas}
    targets:
      - select: {kind: Deployment}
        fieldPaths: [metadata.annotations.replicas-wanted]
`)},
		"app/deployment.yaml": {Data: []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, annotations: {replicas-wanted: "1"}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: web:1
          env: [{name: DB_HOST, value: localhost}]
`)},
	}
	in := reconcile.Inputs{"dbHost": {Value: "10.0.0.7"}, "replicas": {Value: "3"}}
	for _, isolate := range []bool{false, true} {
		opts := DefaultOptions()
		opts.Isolate = isolate
		objs, err := NewWithOptions(&reconcile.KustomizeGenerator{}, opts).Generate(context.Background(),
			reconcile.GenerateRequest{Tree: tree, Dir: "app", Inputs: in})
		if err != nil {
			t.Fatalf("isolate=%v: %v", isolate, err)
		}
		if len(objs) != 1 || objs[0].GetKind() != "Deployment" {
			t.Fatalf("isolate=%v: want the Deployment alone, have %d objects", isolate, len(objs))
		}
		y, _ := reconcile.MarshalObject(objs[0])
		for _, want := range []string{"value: 10.0.0.7", "replicas-wanted: \"3\"", "name: prod-web"} {
			if !strings.Contains(string(y), want) {
				t.Errorf("isolate=%v: no %q in\n%s", isolate, want, y)
			}
		}
	}
	_, err := New(&reconcile.KustomizeGenerator{}).Generate(context.Background(), reconcile.GenerateRequest{Tree: tree, Dir: "app"})
	if err == nil || !strings.Contains(err.Error(), "steward-inputs.yaml") {
		t.Errorf("without inputs: %v, want the file named", err)
	}
}
