package kubernetes

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stewardhq/steward/reconcile"
)

const secretManifest = `
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: NS}
stringData: {password: SECRETVALUE, user: admin}
`

// Plan (steward diff --live) changes nothing: every resourceVersion and the
// inventory are the same before and after, and secrets never show.
func TestPlanChangesNothing(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	u := unit("plan-" + ns)
	tg.opts.DryRunNew = true
	mustSync(t, tg, u, objects(t, ns, appManifests+"---\n"+strings.Replace(secretManifest, "SECRETVALUE", "hunter2-old", 1)))

	changed := strings.Replace(appManifests, "replicas: 2", "replicas: 3", 1) + "---\n" +
		strings.Replace(secretManifest, "SECRETVALUE", "hunter2-new", 1) + "---\n" +
		configMap("added", map[string]string{"k": "v"})
	before := resourceVersions(t, adminClient(t, env), ns)
	invBefore := get(t, env, "v1", "ConfigMap", tg.opts.InventoryNamespace, inventoryPrefix+u.Name).GetResourceVersion()

	plan, err := tg.Plan(context.Background(), reconcile.ApplyRequest{Unit: u, Objects: objects(t, ns, changed)})
	if err != nil {
		t.Fatal(err)
	}
	wantActions(t, plan.Changes, map[string]reconcile.Action{
		"ConfigMap/app-config": reconcile.Unchanged, "Service/app": reconcile.Unchanged,
		"Deployment/app": reconcile.Configured, "Secret/creds": reconcile.Configured, "ConfigMap/added": reconcile.Created,
	})
	text := DiffText(plan)
	for _, want := range []string{"-  replicas: 2", "+  replicas: 3", "password: '*** (before)'", "password: '*** (after)'", "+  name: added"} {
		if !strings.Contains(text, want) {
			t.Errorf("diff lacks %q:\n%s", want, text)
		}
	}
	for _, secret := range []string{"hunter2", "aHVudGVy", "managedFields", "resourceVersion", "status:"} {
		if strings.Contains(text, secret) {
			t.Errorf("diff shows %q:\n%s", secret, text)
		}
	}
	after := resourceVersions(t, adminClient(t, env), ns)
	if len(before) == 0 || !equalMaps(before, after) {
		t.Errorf("plan changed the cluster:\nbefore %v\nafter  %v", before, after)
	}
	if inv := get(t, env, "v1", "ConfigMap", tg.opts.InventoryNamespace, inventoryPrefix+u.Name).GetResourceVersion(); inv != invBefore {
		t.Error("plan wrote the inventory")
	}
	if get(t, env, "v1", "ConfigMap", ns, "added") != nil {
		t.Error("plan created an object")
	}
}

func resourceVersions(t *testing.T, c client.Client, ns string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, kind := range []string{"ConfigMapList", "SecretList", "ServiceList"} {
		l := &unstructured.UnstructuredList{}
		l.SetAPIVersion("v1")
		l.SetKind(kind)
		if err := c.List(context.Background(), l, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		for _, o := range l.Items {
			out[o.GetKind()+"/"+o.GetName()] = o.GetResourceVersion()
		}
	}
	l := &unstructured.UnstructuredList{}
	l.SetAPIVersion("apps/v1")
	l.SetKind("DeploymentList")
	if err := c.List(context.Background(), l, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, o := range l.Items {
		out["Deployment/"+o.GetName()] = o.GetResourceVersion()
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestBadInput(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	tests := []struct {
		name, manifests, want string
		unit                  *reconcile.Unit
	}{
		{"machine kind", "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: motd}\nspec: {path: /etc/motd}\n", "machine kind", unit("bad")},
		{"duplicate", configMap("dup", nil) + "---\n" + configMap("dup", nil), "duplicate object ConfigMap/" + ns + "/dup", unit("bad")},
		{"service account", configMap("x", nil), "want namespace/name", &reconcile.Unit{Name: "bad", ServiceAccount: "nonamespace"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tg.Plan(context.Background(), reconcile.ApplyRequest{Unit: tc.unit, Objects: objects(t, ns, tc.manifests)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("plan error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	noName := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"generateName": "x-"}}}
	_, err := tg.Plan(context.Background(), reconcile.ApplyRequest{Unit: unit("bad"), Objects: []*reconcile.Object{noName}})
	if err == nil || !strings.Contains(err.Error(), "metadata.name is empty") {
		t.Errorf("plan error = %v, want metadata.name is empty", err)
	}
}
