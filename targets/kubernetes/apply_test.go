package kubernetes

import (
	"context"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stewardhq/steward/reconcile"
)

const appManifests = `
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config, namespace: NS}
data: {greeting: hello}
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: NS}
spec:
  selector: {app: app}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: NS}
spec:
  replicas: 2
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - name: app
        image: registry.example/app:1.0
        ports: [{containerPort: 8080}]
        resources: {limits: {cpu: 500m, memory: 128Mi}}
`

func TestCreateUpdateNoop(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	u := unit("app-" + ns)

	cs := mustSync(t, tg, u, objects(t, ns, appManifests))
	wantActions(t, cs.Changes, map[string]reconcile.Action{
		"ConfigMap/app-config": reconcile.Created, "Service/app": reconcile.Created, "Deployment/app": reconcile.Created,
	})
	cm := get(t, env, "v1", "ConfigMap", ns, "app-config")
	if cm == nil || cm.GetLabels()[UnitLabel] != u.Name {
		t.Fatalf("ConfigMap not created with the unit label: %v", cm)
	}
	for _, mf := range cm.GetManagedFields() {
		if mf.Manager != "steward" {
			t.Errorf("field manager %q, want steward", mf.Manager)
		}
	}

	// No change: nothing to do, nothing written.
	rv := get(t, env, "apps/v1", "Deployment", ns, "app").GetResourceVersion()
	cs = mustSync(t, tg, u, objects(t, ns, appManifests))
	if cs.HasChanges() {
		t.Errorf("second sync reported changes: %v", cs.Changes)
	}
	if n := cs.Count(reconcile.Unchanged); n != 3 {
		t.Errorf("unchanged = %d, want 3", n)
	}
	if got := get(t, env, "apps/v1", "Deployment", ns, "app").GetResourceVersion(); got != rv {
		t.Errorf("no-op sync changed the Deployment's resourceVersion %s -> %s", rv, got)
	}

	// Update one field: only that object is configured, with a diff.
	changed := strings.Replace(appManifests, "greeting: hello", "greeting: bonjour", 1)
	cs = mustSync(t, tg, u, objects(t, ns, changed))
	wantActions(t, cs.Changes, map[string]reconcile.Action{
		"ConfigMap/app-config": reconcile.Configured, "Service/app": reconcile.Unchanged, "Deployment/app": reconcile.Unchanged,
	})
	for _, c := range cs.Changes {
		if c.Object.Kind == "ConfigMap" && (!strings.Contains(c.Diff, "-  greeting: hello") || !strings.Contains(c.Diff, "+  greeting: bonjour")) {
			t.Errorf("diff does not show the change:\n%s", c.Diff)
		}
	}
	if got, _, _ := unstructured.NestedString(get(t, env, "v1", "ConfigMap", ns, "app-config").Object, "data", "greeting"); got != "bonjour" {
		t.Errorf("greeting = %q after update", got)
	}
}

func TestDefaultNamespace(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	u := unit("defns-" + ns)
	u.Namespace = ns
	mustSync(t, tg, u, objects(t, ns, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nons}\ndata: {a: b}\n"))
	if get(t, env, "v1", "ConfigMap", ns, "nons") == nil {
		t.Fatal("object without a namespace did not land in the unit's namespace")
	}
}

// Drift by another writer is detected without a dry-run budget surprise and
// corrected.
func TestDriftCorrected(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	u := unit("drift-" + ns)
	objs := objects(t, ns, appManifests)
	mustSync(t, tg, u, objs)

	// kubectl edit style: an update by another manager.
	c := adminClient(t, env)
	cm := get(t, env, "v1", "ConfigMap", ns, "app-config")
	unstructured.SetNestedField(cm.Object, "tampered", "data", "greeting")
	if err := c.Update(context.Background(), cm, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	cs := mustSync(t, tg, u, objects(t, ns, appManifests))
	wantActions(t, cs.Changes, map[string]reconcile.Action{
		"ConfigMap/app-config": reconcile.Configured, "Service/app": reconcile.Unchanged, "Deployment/app": reconcile.Unchanged,
	})
	if got, _, _ := unstructured.NestedString(get(t, env, "v1", "ConfigMap", ns, "app-config").Object, "data", "greeting"); got != "hello" {
		t.Errorf("drift not corrected: greeting = %q", got)
	}
	// A status or unmanaged change is not drift.
	d := get(t, env, "apps/v1", "Deployment", ns, "app")
	unstructured.SetNestedField(d.Object, int64(1), "status", "observedGeneration")
	if err := c.Status().Update(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	cs = mustSync(t, tg, u, objects(t, ns, appManifests))
	if cs.HasChanges() {
		t.Errorf("status update reported as drift: %v", cs.Changes)
	}
}

// An object the server rejects fails with the server's message, the rest is
// applied, and the inventory does not record it.
func TestRejectedObject(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	u := unit("reject-" + ns)
	bad := configMap("good", map[string]string{"a": "b"}) + `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad, namespace: NS}
spec:
  replicas: -3
  selector: {matchLabels: {app: bad}}
  template:
    metadata: {labels: {app: bad}}
    spec: {containers: [{name: c, image: x}]}
`
	cs, err := syncUnit(t, tg, u, objects(t, ns, bad))
	var fe *FailedError
	if !errors.As(err, &fe) || len(fe.Failed) != 1 {
		t.Fatalf("apply error = %v, want one failed object", err)
	}
	wantActions(t, cs.Changes, map[string]reconcile.Action{"ConfigMap/good": reconcile.Created, "Deployment/bad": reconcile.Failed})
	if msg := fe.Failed[0].Message; !strings.Contains(msg, "spec.replicas") {
		t.Errorf("failure message does not carry the server's field: %q", msg)
	}
	inv, _, err := tg.readInventory(context.Background(), u.Name, u.StackName())
	if err != nil {
		t.Fatal(err)
	}
	if len(inv) != 1 {
		t.Errorf("inventory = %v, want only the ConfigMap", inv)
	}
	for id := range inv {
		if id.Kind != "ConfigMap" {
			t.Errorf("inventory records rejected %s", id)
		}
	}
}

func TestCustomResourceWithoutCRD(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	u := unit("nocrd-" + ns)
	objs := objects(t, ns, configMap("ok", map[string]string{"a": "b"})+`---
apiVersion: nowhere.example.com/v1
kind: Ghost
metadata: {name: boo, namespace: NS}
spec: {}
`)
	plan, err := tg.Plan(context.Background(), reconcile.ApplyRequest{Unit: u, Objects: objs})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	wantActions(t, plan.Changes, map[string]reconcile.Action{"ConfigMap/ok": reconcile.Created, "Ghost/boo": reconcile.Failed})
	for _, c := range plan.Changes {
		if c.Object.Kind == "Ghost" && !strings.Contains(c.Message, "CustomResourceDefinition") {
			t.Errorf("message %q does not point at the missing CRD", c.Message)
		}
	}
	cs, err := tg.Apply(context.Background(), plan)
	if err == nil || cs.Count(reconcile.Created) != 1 {
		t.Errorf("apply: err=%v changes=%v; want the ConfigMap created and an error", err, cs.Changes)
	}
}

const crdManifests = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.GROUP}
spec:
  group: GROUP
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
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
            properties:
              size: {type: integer, minimum: 1}
---
apiVersion: v1
kind: Namespace
metadata: {name: NS-w}
---
apiVersion: GROUP/v1
kind: Widget
metadata: {name: w1, namespace: NS-w}
spec: {size: 1}
---
apiVersion: GROUP/v1
kind: Widget
metadata: {name: w2, namespace: NS-w}
spec: {size: 2}
`

func TestCRDAndCustomResources(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	u := unit("crd-" + ns)
	manifests := strings.ReplaceAll(crdManifests, "GROUP", ns+".example.com")
	cs := mustSync(t, tg, u, objects(t, ns, manifests))
	wantActions(t, cs.Changes, map[string]reconcile.Action{
		"CustomResourceDefinition/widgets." + ns + ".example.com": reconcile.Created,
		"Namespace/" + ns + "-w":                                  reconcile.Created,
		"Widget/w1":                                               reconcile.Created, "Widget/w2": reconcile.Created,
	})
	if get(t, env, ns+".example.com/v1", "Widget", ns+"-w", "w2") == nil {
		t.Fatal("custom resource not created")
	}
	cs = mustSync(t, tg, u, objects(t, ns, manifests))
	if cs.HasChanges() {
		t.Errorf("second sync changed: %v", cs.Changes)
	}
	// A custom resource that fails the CRD's schema names the field.
	bad := strings.Replace(manifests, "size: 2", "size: 0", 1)
	cs, err := syncUnit(t, tg, u, objects(t, ns, bad))
	if err == nil {
		t.Fatal("schema violation applied")
	}
	for _, c := range cs.Failed() {
		if c.Object.Name != "w2" || !strings.Contains(c.Message, "spec.size") {
			t.Errorf("failure %v does not name w2 and spec.size", c)
		}
	}
}
