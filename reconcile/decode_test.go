package reconcile

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func TestDecodeObjects(t *testing.T) {
	objs, err := DecodeObjects([]byte(`---
# only a comment
---
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: {n: "1"}}
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}
---
base: &base {replicas: 2, paused: false}
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  <<: *base
  replicas: 3
  port: 0x50
  ratio: 0.5
  when: 2026-11-22
`), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3 || objs[0].GetName() != "a" || objs[2].GetKind() != "Deployment" {
		t.Fatalf("objects = %d", len(objs))
	}
	spec := objs[2].Object["spec"].(map[string]any)
	want := map[string]any{"replicas": int64(3), "paused": false, "port": int64(80), "ratio": 0.5, "when": "2026-11-22"}
	for k, v := range want {
		if spec[k] != v {
			t.Errorf("spec.%s = %#v, want %#v", k, spec[k], v)
		}
	}
	// DeepCopy panics on values unstructured cannot hold: every value must be JSON-typed.
	_ = objs[2].DeepCopy()
}

func TestDecodeObjectsErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"malformed", "apiVersion: v1\nkind: [\n", "x.yaml:2: did not find expected node content"},
		{"no kind", "apiVersion: v1\nmetadata: {name: a}\n", "x.yaml:1: object has no kind"},
		{"no name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "x.yaml:1: ConfigMap has no metadata.name"},
		{"no apiVersion", "---\nkind: ConfigMap\n", "x.yaml:2: object has no apiVersion"},
		{"scalar document", "apiVersion: v1\nkind: A\nmetadata: {name: a}\n---\njust text\n", "x.yaml:5: document is a scalar, not an object"},
		{"duplicate key", "apiVersion: v1\nkind: A\nkind: B\n", "x.yaml:3: duplicate key \"kind\""},
		{"list item not object", "apiVersion: v1\nkind: List\nitems:\n  - 3\n", "x.yaml:4: items[0] is not an object"},
		{"recursive alias", "a: &a [*a]\n", "x.yaml:1: alias *a refers to itself"},
		{"alias bomb", "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n", "too many nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := DecodeObjects([]byte(tt.yaml), "x.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want %q", err, tt.want)
			}
			var se *SourceError
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *SourceError", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("took %v", d) // guards against an unbounded expansion, not a speed goal
			}
		})
	}
}

func FuzzDecodeObjects(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: A, metadata: {name: x}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := DecodeObjects(data, "f.yaml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, o := range objs {
			if o.GetKind() == "" || o.GetName() == "" || o.GetAPIVersion() == "" {
				t.Fatalf("object without kind/name/apiVersion accepted: %v", o.Object)
			}
			_ = o.DeepCopy() // panics on a non-JSON value
		}
	})
}

// Objects decoded from separate files share one copy of each common key
// and of their apiVersion and kind (the cache keeps every object of a
// daemon's estate); other keys and values are their own.
func TestDecodeObjectsShareCommonStrings(t *testing.T) {
	doc := "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: %s}\nspec: {path: /srv/%s, mode: \"0644\", custom: x}\n"
	var objs []*Object
	for _, name := range []string{"a", "b"} {
		got, err := DecodeObjects([]byte(strings.ReplaceAll(doc, "%s", name)), name+".yaml")
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, got[0])
	}
	keyData := func(m map[string]any, key string) *byte {
		for k := range m {
			if k == key {
				return unsafe.StringData(k)
			}
		}
		t.Fatalf("no key %q in %v", key, m)
		return nil
	}
	a, b := objs[0].Object, objs[1].Object
	for _, key := range []string{"apiVersion", "kind", "metadata", "spec"} {
		if keyData(a, key) != keyData(b, key) {
			t.Errorf("key %q decoded twice", key)
		}
	}
	for _, key := range []string{"path", "mode"} {
		if keyData(a["spec"].(map[string]any), key) != keyData(b["spec"].(map[string]any), key) {
			t.Errorf("key spec.%s decoded twice", key)
		}
	}
	if keyData(a["spec"].(map[string]any), "custom") == keyData(b["spec"].(map[string]any), "custom") {
		t.Error("an uncommon key is shared: the test cannot tell sharing apart")
	}
	for _, field := range []string{"apiVersion", "kind"} {
		if unsafe.StringData(a[field].(string)) != unsafe.StringData(b[field].(string)) {
			t.Errorf("%s value decoded twice", field)
		}
	}
}
