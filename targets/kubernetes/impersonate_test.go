package kubernetes

import (
	"context"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/stewardhq/steward/reconcile"
)

// A unit with a service account applies as that account: what its RBAC
// allows succeeds, the rest fails naming the verb and the resource.
func TestImpersonation(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	c := adminClient(t, env)
	ctx := context.Background()

	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "configmaps", Namespace: ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"},
			Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "configmaps"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "deployer", Namespace: ns}},
	}
	if err := c.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}

	u := unit("imp-" + ns)
	u.ServiceAccount = ns + "/deployer"
	cs := mustSync(t, tg, u, objects(t, ns, configMap("allowed", map[string]string{"a": "b"})))
	wantActions(t, cs.Changes, map[string]reconcile.Action{"ConfigMap/allowed": reconcile.Created})
	cm := get(t, env, "v1", "ConfigMap", ns, "allowed")
	if cm == nil {
		t.Fatal("allowed ConfigMap not created")
	}

	secret := "apiVersion: v1\nkind: Secret\nmetadata: {name: denied, namespace: NS}\nstringData: {k: v}\n"
	cs, err := syncUnit(t, tg, u, objects(t, ns, configMap("allowed", map[string]string{"a": "b"})+"---\n"+secret))
	if err == nil {
		t.Fatal("denied object applied")
	}
	f := cs.Failed()
	if len(f) != 1 || f[0].Object.Kind != "Secret" {
		t.Fatalf("failures = %v, want the Secret", f)
	}
	msg := f[0].Message
	for _, want := range []string{"system:serviceaccount:" + ns + ":deployer", "patch", `resource "secrets"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("RBAC error %q lacks %q", msg, want)
		}
	}
	if get(t, env, "v1", "Secret", ns, "denied") != nil {
		t.Error("denied Secret exists")
	}
}
