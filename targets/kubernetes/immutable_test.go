package kubernetes

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stewardhq/steward/reconcile"
)

const jobManifest = `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: NS}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: IMAGE}]
`

func TestImmutableField(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	u := unit("immutable-" + ns)
	v1 := strings.Replace(jobManifest, "IMAGE", "migrate:1", 1)
	v2 := strings.Replace(jobManifest, "IMAGE", "migrate:2", 1)
	mustSync(t, tg, u, objects(t, ns, v1))
	uid := get(t, env, "batch/v1", "Job", ns, "migrate").GetUID()

	// Without force: failed, naming the field, object untouched.
	cs, err := syncUnit(t, tg, u, objects(t, ns, v2))
	if err == nil {
		t.Fatal("immutable change applied without force")
	}
	f := cs.Failed()
	if len(f) != 1 || !strings.Contains(f[0].Message, "spec.template") || !strings.Contains(f[0].Message, "immutable") {
		t.Fatalf("failure does not name the immutable field: %v", f)
	}
	if get(t, env, "batch/v1", "Job", ns, "migrate").GetUID() != uid {
		t.Fatal("object recreated without force")
	}

	// With the annotation: recreated.
	forced := strings.Replace(v2, "name: migrate, namespace: NS}", "name: migrate, namespace: NS, annotations: {steward.dev/force: \"true\"}}", 1)
	cs = mustSync(t, tg, u, objects(t, ns, forced))
	wantActions(t, cs.Changes, map[string]reconcile.Action{"Job/migrate": reconcile.Configured})
	job := get(t, env, "batch/v1", "Job", ns, "migrate")
	if job.GetUID() == uid {
		t.Error("job not recreated")
	}
	img, _, _ := unstructured.NestedSlice(job.Object, "spec", "template", "spec", "containers")
	if len(img) != 1 || img[0].(map[string]any)["image"] != "migrate:2" {
		t.Errorf("containers after recreate: %v", img)
	}

	// With unit.Force: same, and an invalid object is never deleted.
	u.Force = true
	invalid := strings.Replace(v1, "restartPolicy: Never", "restartPolicy: Sometimes", 1)
	uid = job.GetUID()
	if _, err := syncUnit(t, tg, u, objects(t, ns, invalid)); err == nil {
		t.Fatal("invalid object applied")
	}
	if j := get(t, env, "batch/v1", "Job", ns, "migrate"); j == nil || j.GetUID() != uid {
		t.Error("force deleted an object the server would not recreate")
	}
}

func TestConflictWithAnotherApplier(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	u := unit("conflict-" + ns)
	mine := configMap("shared", map[string]string{"owner": "steward"})
	mustSync(t, tg, u, objects(t, ns, mine))

	// Another declarative tool takes the field with force.
	theirs := objects(t, ns, configMap("shared", map[string]string{"owner": "other"}))[0]
	if err := adminClient(t, env).Patch(context.Background(), theirs, client.Apply,
		client.FieldOwner("other-tool"), client.ForceOwnership); err != nil {
		t.Fatal(err)
	}
	cs, err := syncUnit(t, tg, u, objects(t, ns, mine))
	if err == nil {
		t.Fatal("conflict not reported")
	}
	f := cs.Failed()
	if len(f) != 1 || !strings.Contains(f[0].Message, "other-tool") || !strings.Contains(f[0].Message, ".data.owner") {
		t.Fatalf("conflict message: %v", f)
	}
	if v, _, _ := unstructured.NestedString(get(t, env, "v1", "ConfigMap", ns, "shared").Object, "data", "owner"); v != "other" {
		t.Fatal("conflicting apply changed the object")
	}
	u.Force = true
	cs = mustSync(t, tg, u, objects(t, ns, mine))
	wantActions(t, cs.Changes, map[string]reconcile.Action{"ConfigMap/shared": reconcile.Configured})
	if v, _, _ := unstructured.NestedString(get(t, env, "v1", "ConfigMap", ns, "shared").Object, "data", "owner"); v != "steward" {
		t.Errorf("force did not take over: owner = %q", v)
	}
}
