package checks_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/checks"
)

// mixedUnits generates n objects over a few units: Deployments, Services,
// ConfigMaps, Secrets, a CRD with its custom resources, custom resources
// without a CRD, and every tenth object with a schema error.
func mixedUnits(tb testing.TB, n int) []checks.UnitObjects {
	tb.Helper()
	var b strings.Builder
	b.WriteString(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [size]
              properties:
                size: {type: string, enum: [small, large]}
                replicas: {type: integer, minimum: 0}
`)
	for i := 1; i < n; i++ {
		b.WriteString("---\n")
		bad := i%10 == 0
		switch i % 5 {
		case 0:
			replicas := "2"
			if bad {
				replicas = `"2"`
			}
			fmt.Fprintf(&b, `apiVersion: apps/v1
kind: Deployment
metadata: {name: web-%d, namespace: ns, labels: {app: web-%d}}
spec:
  replicas: %s
  selector: {matchLabels: {app: web-%d}}
  template:
    metadata: {labels: {app: web-%d}}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:%d
          ports: [{containerPort: 8080, name: http}]
          resources: {limits: {cpu: 500m, memory: 128Mi}}
          env: [{name: A, value: b}]
          readinessProbe: {httpGet: {path: /healthz, port: http}}
`, i, i, replicas, i, i, i)
		case 1:
			fmt.Fprintf(&b, `apiVersion: v1
kind: Service
metadata: {name: svc-%d, namespace: ns}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http, protocol: TCP}]
`, i)
		case 2:
			fmt.Fprintf(&b, `apiVersion: v1
kind: ConfigMap
metadata: {name: cm-%d, namespace: ns}
data: {key: value, other: "%d"}
`, i, i)
		case 3:
			fmt.Fprintf(&b, `apiVersion: example.com/v1
kind: Widget
metadata: {name: w-%d, namespace: ns}
spec: {size: small, replicas: %d}
`, i, i)
		case 4:
			fmt.Fprintf(&b, `apiVersion: other.example.com/v1
kind: Gadget
metadata: {name: g-%d, namespace: ns}
spec: {any: thing}
`, i)
		}
	}
	objs, err := reconcile.DecodeObjects([]byte(b.String()), "mixed.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	units := make([]checks.UnitObjects, 8)
	for i := range units {
		units[i].Unit = fmt.Sprintf("unit-%d", i)
	}
	for i, o := range objs {
		units[i%len(units)].Objects = append(units[i%len(units)].Objects, o)
	}
	return units
}
