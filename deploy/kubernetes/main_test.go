package kubernetes

import (
	"os"
	"strings"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv/kube"
	"github.com/stewardhq/steward/generators/kustomize"
	"github.com/stewardhq/steward/reconcile"
)

// One kube-apiserver for the package.
var shared kube.Shared

func TestMain(m *testing.M) {
	os.Exit(shared.Main(m, kube.DefaultOptions()))
}

// build renders the kustomization at dir (relative to this directory) with
// steward's kustomize generator, the way a unit would.
func build(t testing.TB, dir string) []*reconcile.Object {
	t.Helper()
	req := reconcile.GenerateRequest{Tree: os.DirFS("."), Dir: dir, Unit: &reconcile.Unit{Name: "steward"}}
	objs, err := kustomize.New(nil).Generate(t.Context(), req)
	if err != nil {
		t.Fatalf("build %s: %v", dir, err)
	}
	return objs
}

// find returns the object of kind and name whose name starts with name
// (generated ConfigMaps carry a hash suffix), or nil.
func find(objs []*reconcile.Object, kind, name string) *reconcile.Object {
	for _, o := range objs {
		if o.GetKind() == kind && (o.GetName() == name || strings.HasPrefix(o.GetName(), name+"-")) {
			return o
		}
	}
	return nil
}
