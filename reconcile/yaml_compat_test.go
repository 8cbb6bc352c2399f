package reconcile

import (
	"testing"

	sigs "sigs.k8s.io/yaml"
)

func TestMarshalObjectMatchesSigsYAML(t *testing.T) {
	data := []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {"app.kubernetes.io/name": web, "yes": "no"}, annotations: {a: "multi\nline\n", b: "  leading", c: "true", d: "0123", e: "1.0", f: "", g: "null", h: "~", i: "@x", j: "- x", k: "a: b", l: "#c"}}
spec:
  replicas: 3
  ratio: 1.5
  big: 123456789012
  neg: -4
  flag: true
  none: null
  list: [1, "2", {x: []}, [], {}]
  template: {spec: {containers: [{name: web, image: "nginx:1.27", args: ["--a=b", "it's", "\"q\""]}]}}
`)
	objs, err := DecodeObjects(data, "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := MarshalObject(objs[0])
	if err != nil {
		t.Fatal(err)
	}
	want, err := sigs.Marshal(objs[0].Object)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("MarshalObject differs from sigs.k8s.io/yaml:\n%s", UnifiedDiff("sigs", "steward", string(want), string(got)))
	}
}
