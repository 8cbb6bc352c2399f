package helm_test

import (
	"context"
	"fmt"
	"testing/fstest"

	"github.com/stewardhq/steward/generators/helm"
	"github.com/stewardhq/steward/reconcile"
)

func ExampleGenerator_Generate() {
	tree := fstest.MapFS{
		"apps/hello/Chart.yaml":               {Data: []byte("apiVersion: v2\nname: hello\nversion: 0.1.0\n")},
		"apps/hello/values.yaml":              {Data: []byte("message: hi\n")},
		"apps/hello/values-prod.yaml":         {Data: []byte("message: hello from prod\n")},
		"apps/hello/templates/configmap.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\ndata:\n  message: {{ .Values.message | quote }}\n")},
	}
	g := helm.New(&reconcile.HelmGenerator{Values: []string{"values-prod.yaml"}})
	objs, err := g.Generate(context.Background(), reconcile.GenerateRequest{
		Tree: tree,
		Dir:  "apps/hello",
		Unit: &reconcile.Unit{Name: "hello", Namespace: "web"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, o := range objs {
		fmt.Println(reconcile.IDOf(o), o.Object["data"])
	}
	// Output: ConfigMap/web/hello map[message:hello from prod]
}
