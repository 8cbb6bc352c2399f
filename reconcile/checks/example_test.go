package checks_test

import (
	"context"
	"fmt"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/checks"
)

func Example() {
	objs, err := reconcile.DecodeObjects([]byte(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: "2"
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "web:1"}]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: shop}
`), "app.yaml")
	if err != nil {
		panic(err)
	}
	c, err := checks.New([]reconcile.Check{{
		Name:    "limits",
		Match:   reconcile.Match{Kind: "Deployment"},
		CEL:     "object.spec.template.spec.containers.all(c, has(c.resources) && has(c.resources.limits))",
		Message: "every container needs resource limits",
	}}, checks.DefaultOptions())
	if err != nil {
		panic(err)
	}
	rep, err := c.Check(context.Background(), []checks.UnitObjects{{Unit: "app", Objects: objs}})
	if err != nil {
		panic(err)
	}
	for _, f := range rep.Failures {
		fmt.Println(f)
	}
	for _, u := range rep.Unchecked {
		fmt.Println(u)
	}
	// Output:
	// unit app: apps/Deployment/shop/web: rule limits: every container needs resource limits
	// unit app: apps/Deployment/shop/web: rule schema: spec.replicas: expected integer, got string
	// unit app: example.com/Widget/shop/w: no schema: CRD not in this revision
}
