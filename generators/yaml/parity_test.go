package yaml

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/stewardhq/steward/generators/internal/gentest"
	"github.com/stewardhq/steward/reconcile"
)

// A public repository's manifests at the root of a repository that also
// holds steward.yaml, steward.lock and a .stewardignore: the unit at path
// "." yields exactly the manifests, each equal as data to the file decoded
// by another YAML library (sigs.k8s.io/yaml, kubectl's). Source and
// licence: testdata/parity/podinfo.
func TestParityRootLevel(t *testing.T) {
	repo := filepath.Join("testdata", "parity", "podinfo", "repo")
	objs, err := New(nil).Generate(t.Context(), reconcile.GenerateRequest{Tree: os.DirFS(repo), Dir: "."})
	if err != nil {
		t.Fatal(err)
	}
	var want []map[string]any
	for _, f := range []string{"deployment.yaml", "hpa.yaml", "service.yaml"} {
		data, err := os.ReadFile(filepath.Join(repo, f))
		if err != nil {
			t.Fatal(err)
		}
		js, err := sigsyaml.YAMLToJSON(data)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, asData(t, js))
	}
	if len(objs) != len(want) {
		t.Fatalf("%d objects, want %d (the three manifests, nothing of steward's or kustomize's)", len(objs), len(want))
	}
	for i, o := range objs {
		js, err := json.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		if got := asData(t, js); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("object %d (%s) differs from its file as data:\n got %v\nwant %v", i, reconcile.IDOf(o), got, want[i])
		}
	}
	gentest.Golden(t, filepath.Join("testdata", "parity", "podinfo", "want.yaml"), gentest.Render(t, objs))
}

func asData(t *testing.T, js []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}
