package kubernetes

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"

	"github.com/stewardhq/steward/deploy/testenv/kube"
	"github.com/stewardhq/steward/reconcile"
	ktarget "github.com/stewardhq/steward/targets/kubernetes"
)

var deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

const (
	stewardNS   = "steward-system"
	stewardUser = "system:serviceaccount:steward-system:steward"
)

// applyBase applies the base for real, as an operator would.
func applyBase(t *testing.T, env *kube.Env) {
	t.Helper()
	a := newApplier(t, env)
	objs := build(t, "base")
	// The Namespace first: the rest lives in it.
	if err := a.apply(t.Context(), find(objs, "Namespace", stewardNS), false); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if err := a.apply(t.Context(), o, false); err != nil {
			t.Fatalf("apply %s: %v", id(o), err)
		}
	}
}

// bindImpersonation lets steward impersonate the service accounts of ns,
// as the base's rbac-impersonate.yaml tells operators to.
func bindImpersonation(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "steward-impersonate", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "steward:impersonate"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "steward", Namespace: stewardNS}},
	}
	if _, err := c.RbacV1().RoleBindings(ns).Create(t.Context(), rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestServiceAccountAccess asks the API server, with SubjectAccessReviews,
// what the steward service account may do once the base is applied: what
// steward needs is allowed (its unit outputs' Secrets included), and
// listing Secrets or reading other namespaces' ones, escalating through RBAC,
// impersonating beyond the bound namespaces, or reaching nodes, pods and
// tokens is not.
func TestServiceAccountAccess(t *testing.T) {
	env := shared.Get(t)
	applyBase(t, env)
	c, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	team, other := env.Namespace(t), env.Namespace(t)
	bindImpersonation(t, c, team)

	type attrs = authzv1.ResourceAttributes
	cases := []struct {
		allowed bool
		attrs
	}{
		// steward's own state, in its namespace.
		{true, attrs{Namespace: stewardNS, Verb: "get", Resource: "configmaps"}},
		{true, attrs{Namespace: stewardNS, Verb: "list", Resource: "configmaps"}},
		{true, attrs{Namespace: stewardNS, Verb: "patch", Resource: "configmaps"}},
		{true, attrs{Namespace: stewardNS, Verb: "delete", Resource: "configmaps"}},
		{true, attrs{Namespace: stewardNS, Verb: "create", Group: "coordination.k8s.io", Resource: "leases"}},
		{true, attrs{Namespace: stewardNS, Verb: "update", Group: "coordination.k8s.io", Resource: "leases"}},
		{true, attrs{Namespace: stewardNS, Verb: "create", Resource: "events"}},
		{false, attrs{Namespace: team, Verb: "create", Group: "coordination.k8s.io", Resource: "leases"}},
		// What units apply (steward:apply), and what waiting reads.
		{true, attrs{Namespace: team, Verb: "patch", Group: "apps", Resource: "deployments"}},
		{true, attrs{Namespace: team, Verb: "delete", Resource: "services"}},
		{true, attrs{Verb: "create", Resource: "namespaces"}},
		{true, attrs{Namespace: team, Verb: "list", Group: "apps", Resource: "replicasets"}},
		{true, attrs{Namespace: team, Verb: "list", Resource: "pods"}},
		{false, attrs{Namespace: team, Verb: "delete", Resource: "pods"}},
		{false, attrs{Namespace: team, Verb: "create", Resource: "pods"}},
		// Impersonation: only the service accounts of namespaces bound.
		{true, attrs{Namespace: team, Verb: "impersonate", Resource: "serviceaccounts", Name: "deployer"}},
		{false, attrs{Namespace: other, Verb: "impersonate", Resource: "serviceaccounts", Name: "deployer"}},
		{false, attrs{Namespace: "kube-system", Verb: "impersonate", Resource: "serviceaccounts", Name: "default"}},
		{false, attrs{Verb: "impersonate", Resource: "users", Name: "admin"}},
		{false, attrs{Verb: "impersonate", Resource: "groups", Name: "system:masters"}},
		// Secrets: the unit outputs in its own namespace, read by name and
		// written by server-side apply; never listed, nowhere else.
		{true, attrs{Namespace: stewardNS, Verb: "get", Resource: "secrets", Name: "outputs-web"}},
		{true, attrs{Namespace: stewardNS, Verb: "create", Resource: "secrets"}},
		{true, attrs{Namespace: stewardNS, Verb: "patch", Resource: "secrets", Name: "outputs-web"}},
		{false, attrs{Namespace: stewardNS, Verb: "list", Resource: "secrets"}},
		{false, attrs{Namespace: stewardNS, Verb: "watch", Resource: "secrets"}},
		{false, attrs{Namespace: stewardNS, Verb: "delete", Resource: "secrets", Name: "steward-env"}},
		{false, attrs{Verb: "list", Resource: "secrets"}},
		{false, attrs{Verb: "watch", Resource: "secrets"}},
		{false, attrs{Namespace: "kube-system", Verb: "get", Resource: "secrets"}},
		{false, attrs{Namespace: team, Verb: "get", Resource: "secrets"}},
		{false, attrs{Namespace: team, Verb: "patch", Resource: "secrets"}},
		// No way up: RBAC, tokens, exec, nodes, CRDs, admission webhooks.
		{false, attrs{Verb: "escalate", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}},
		{false, attrs{Verb: "bind", Group: "rbac.authorization.k8s.io", Resource: "clusterroles", Name: "cluster-admin"}},
		{false, attrs{Namespace: team, Verb: "escalate", Group: "rbac.authorization.k8s.io", Resource: "roles"}},
		{false, attrs{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}},
		{false, attrs{Namespace: team, Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "rolebindings"}},
		{false, attrs{Verb: "patch", Group: "rbac.authorization.k8s.io", Resource: "clusterroles", Name: "steward:apply"}},
		{false, attrs{Namespace: "kube-system", Verb: "create", Resource: "serviceaccounts", Subresource: "token"}},
		{false, attrs{Namespace: team, Verb: "create", Resource: "pods", Subresource: "exec"}},
		{false, attrs{Verb: "get", Resource: "nodes"}},
		{false, attrs{Verb: "create", Group: "apiextensions.k8s.io", Resource: "customresourcedefinitions"}},
		{false, attrs{Verb: "create", Group: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations"}},
		{false, attrs{Verb: "update", Group: "certificates.k8s.io", Resource: "certificatesigningrequests", Subresource: "approval"}},
	}
	for _, tc := range cases {
		ra := tc.attrs
		sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User:               stewardUser,
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + stewardNS, "system:authenticated"},
			ResourceAttributes: &ra,
		}}
		res, err := c.AuthorizationV1().SubjectAccessReviews().Create(t.Context(), sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status.Allowed != tc.allowed {
			t.Errorf("%s %s%s %s/%s: allowed=%v, want %v (%s)", ra.Verb, ra.Resource, sub(ra.Subresource), ra.Namespace, ra.Name,
				res.Status.Allowed, tc.allowed, res.Status.Reason)
		}
	}
}

func sub(s string) string {
	if s == "" {
		return ""
	}
	return "/" + s
}

// TestStewardAppliesAsItsServiceAccount runs steward's Kubernetes target
// authenticated as the base's service account: it applies and prunes a
// unit and keeps the unit's inventory in steward-system; a Secret needs a
// unit that impersonates a service account allowed to write it; an
// impersonation outside the bound namespaces is refused.
func TestStewardAppliesAsItsServiceAccount(t *testing.T) {
	env := shared.Get(t)
	applyBase(t, env)
	c, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	team, other := env.Namespace(t), env.Namespace(t)
	bindImpersonation(t, c, team)
	// team/deployer may write the Secrets of its namespace.
	if _, err := env.ServiceAccountConfig(ctx, team, "deployer"); err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "secrets", Namespace: team},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"},
			Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}}},
	}
	if _, err := c.RbacV1().Roles(team).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: team},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "secrets"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "deployer", Namespace: team}},
	}
	if _, err := c.RbacV1().RoleBindings(team).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.ServiceAccountConfig(ctx, other, "deployer"); err != nil {
		t.Fatal(err)
	}

	cfg, err := env.ServiceAccountConfig(ctx, stewardNS, "steward")
	if err != nil {
		t.Fatal(err)
	}
	opts := ktarget.DefaultOptions()
	opts.Name, opts.Logger = "cluster", slog.New(slog.NewTextHandler(io.Discard, nil))
	tg, err := ktarget.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}

	web := &reconcile.Unit{Name: "web-" + team, Target: "cluster", Prune: true}
	objs := decode(t, team, deploymentYAML+"---\n"+serviceYAML+"---\n"+configMapYAML)
	cs, err := applyUnit(ctx, tg, web, objs)
	if err != nil {
		t.Fatalf("apply as steward's service account: %v", err)
	}
	if n := cs.Count(reconcile.Created); n != 3 {
		t.Fatalf("created %d objects, want 3: %+v", n, cs.Changes)
	}
	inv, err := c.CoreV1().ConfigMaps(stewardNS).Get(ctx, "unit-"+web.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("inventory of unit %s: %v", web.Name, err)
	}
	if inv.Data["objects"] != "3" {
		t.Errorf("inventory records %q objects, want 3", inv.Data["objects"])
	}
	// Prune: the ConfigMap leaves the unit, steward deletes it.
	cs, err = applyUnit(ctx, tg, web, decode(t, team, deploymentYAML+"---\n"+serviceYAML))
	if err != nil || cs.Count(reconcile.Deleted) != 1 {
		t.Fatalf("prune as steward's service account: %v, %+v", err, cs)
	}
	if _, err := c.CoreV1().ConfigMaps(team).Get(ctx, "web-settings", metav1.GetOptions{}); err == nil {
		t.Error("pruned ConfigMap still there")
	}

	secret := decode(t, team, secretYAML)
	creds := &reconcile.Unit{Name: "creds-" + team, Target: "cluster"}
	if _, err := applyUnit(ctx, tg, creds, secret); err == nil || !strings.Contains(err.Error(), "secrets") {
		t.Fatalf("a Secret applied with steward's own identity: %v, want forbidden", err)
	}
	creds.ServiceAccount = team + "/deployer"
	if cs, err := applyUnit(ctx, tg, creds, secret); err != nil || cs.Count(reconcile.Created) != 1 {
		t.Fatalf("a Secret applied as %s: %v %+v", creds.ServiceAccount, err, cs)
	}
	if s, err := c.CoreV1().Secrets(team).Get(ctx, "web-token", metav1.GetOptions{}); err != nil || string(s.Data["token"]) != "t0ken" {
		t.Fatalf("Secret applied through impersonation: %v", err)
	}
	// A Secret-key output: read as the unit's account, kept by steward's.
	spec := reconcile.OutputSpec{JSONPath: &reconcile.JSONPathOutput{Object: "Secret/web-token", Namespace: team, Path: ".data.token"}}
	v, err := tg.ResolveOutput(ctx, creds, "token", spec)
	if err != nil || v != "t0ken" {
		t.Fatalf("Secret-key output as %s: %q, %v", creds.ServiceAccount, v, err)
	}
	outs := map[string]reconcile.OutputValue{"token": {Value: v, Sensitive: true, Spec: "s"}}
	if err := tg.WriteOutputs(ctx, creds.Name, outs); err != nil {
		t.Fatalf("record outputs as steward's service account: %v", err)
	}
	if got, err := tg.ReadOutputs(ctx, creds.Name); err != nil || got["token"].Value != "t0ken" {
		t.Fatalf("read outputs back: %+v, %v", got, err)
	}
	if _, err := c.CoreV1().Secrets(stewardNS).Get(ctx, "outputs-"+creds.Name, metav1.GetOptions{}); err != nil {
		t.Fatalf("outputs Secret: %v", err)
	}

	sneaky := &reconcile.Unit{Name: "sneaky-" + other, Target: "cluster", ServiceAccount: other + "/deployer"}
	if _, err := applyUnit(ctx, tg, sneaky, decode(t, other, configMapYAML)); err == nil || !strings.Contains(err.Error(), "impersonate") {
		t.Fatalf("impersonation outside the bound namespaces: %v, want forbidden", err)
	}
	if _, err := c.CoreV1().ConfigMaps(other).Get(ctx, "web-settings", metav1.GetOptions{}); err == nil {
		t.Error("the refused unit's ConfigMap exists")
	}
}

// applyUnit plans and applies one unit; a failed object is an error.
func applyUnit(ctx context.Context, tg *ktarget.Target, u *reconcile.Unit, objs []*reconcile.Object) (*reconcile.ChangeSet, error) {
	plan, err := tg.Plan(ctx, reconcile.ApplyRequest{Unit: u, Revision: "r1", Objects: objs})
	if err != nil {
		return nil, err
	}
	cs, err := tg.Apply(ctx, plan)
	if err == nil {
		for _, ch := range cs.Changes {
			if ch.Action == reconcile.Failed {
				return cs, fmt.Errorf("%s/%s: %s", ch.Object.Kind, ch.Object.Name, ch.Message)
			}
		}
	}
	return cs, err
}

func decode(t *testing.T, ns, manifests string) []*reconcile.Object {
	t.Helper()
	objs, err := reconcile.DecodeObjects([]byte(strings.ReplaceAll(manifests, "NS", ns)), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

const deploymentYAML = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
`

const serviceYAML = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: NS}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`

const configMapYAML = `apiVersion: v1
kind: ConfigMap
metadata: {name: web-settings, namespace: NS}
data: {mode: prod}
`

const secretYAML = `apiVersion: v1
kind: Secret
metadata: {name: web-token, namespace: NS}
stringData: {token: t0ken}
`
