package jsonnet

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stewardhq/steward/reconcile"
)

// FuzzFlatten feeds arbitrary JSON to the output flattener: it never
// panics, and every object it returns has apiVersion, kind and a name.
func FuzzFlatten(f *testing.F) {
	for _, s := range []string{
		`{"a": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}, "b": [null, {"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}]}]}`,
		`[{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": 3}}]`,
		`{"kind": "List", "items": [1]}`,
		`"text"`, `1.5e300`, `{"x": {"y": true}}`, `{"apiVersion": 1}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		objs, err := flatten(v)
		if err != nil {
			return
		}
		for _, o := range objs {
			if o.GetAPIVersion() == "" || o.GetKind() == "" || o.GetName() == "" {
				t.Fatalf("object without apiVersion, kind or name: %v", o.Object)
			}
			if _, err := json.Marshal(o.Object); err != nil {
				t.Fatalf("object does not marshal: %v", err)
			}
		}
	})
}

// FuzzGenerate evaluates arbitrary jsonnet source: no panics, and every
// error names a file.
func FuzzGenerate(f *testing.F) {
	for _, seed := range []string{"tree/repo/apps/monitoring/main.jsonnet", "bad-runtime/repo/u/main.jsonnet", "bad-syntax/repo/u/main.jsonnet", "bad-leaf/repo/u/main.jsonnet"} {
		data, err := os.ReadFile(filepath.Join("testdata", seed))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if strings.Contains(string(src), "std.repeat") || len(src) > 4096 {
			return // keep each evaluation small
		}
		tree := fstest.MapFS{"u/main.jsonnet": {Data: src}, "lib/l.libsonnet": {Data: []byte("{ x: 1 }")}}
		_, err := New(nil).Generate(t.Context(), reconcile.GenerateRequest{Tree: tree, Dir: "u"})
		if err == nil {
			return
		}
		var se *reconcile.SourceError
		var de *reconcile.DuplicateError
		if !errors.As(err, &se) && !errors.As(err, &de) {
			t.Fatalf("error %q names no file", err)
		}
	})
}
