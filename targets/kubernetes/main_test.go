package kubernetes

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stewardhq/steward/deploy/testenv/kube"
	"github.com/stewardhq/steward/reconcile"
)

// One kube-apiserver for the package; each test works in its own namespace.
var shared kube.Shared

func TestMain(m *testing.M) {
	os.Exit(shared.Main(m, kube.DefaultOptions()))
}

// testTarget returns a Target on the shared API server with short waits.
func testTarget(t testing.TB, cfg *rest.Config) *Target {
	t.Helper()
	opts := DefaultOptions()
	opts.Name = "test"
	opts.WaitInterval = 200 * time.Millisecond
	opts.QPS, opts.Burst = 500, 1000
	opts.Logger = slog.New(slog.DiscardHandler)
	tg, err := New(cfg, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tg
}

// objects decodes a YAML stream, with NS replaced by namespace.
func objects(t testing.TB, namespace, manifests string) []*reconcile.Object {
	t.Helper()
	objs, err := reconcile.DecodeObjects([]byte(strings.ReplaceAll(manifests, "NS", namespace)), "test.yaml")
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return objs
}

func unit(name string) *reconcile.Unit {
	return &reconcile.Unit{Name: name, Target: "test", Prune: true}
}

// syncUnit plans and applies, failing the test on a plan error.
func syncUnit(t testing.TB, tg *Target, u *reconcile.Unit, objs []*reconcile.Object) (*reconcile.ChangeSet, error) {
	t.Helper()
	plan, err := tg.Plan(context.Background(), reconcile.ApplyRequest{Unit: u, Revision: "rev", Objects: objs})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return tg.Apply(context.Background(), plan)
}

// mustSync is syncUnit that also fails the test on an apply error.
func mustSync(t testing.TB, tg *Target, u *reconcile.Unit, objs []*reconcile.Object) *reconcile.ChangeSet {
	t.Helper()
	cs, err := syncUnit(t, tg, u, objs)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return cs
}

// actions renders a change set as "Kind/name=action" sorted by object.
func actions(changes []reconcile.Change) map[string]reconcile.Action {
	out := map[string]reconcile.Action{}
	for _, c := range changes {
		out[c.Object.Kind+"/"+c.Object.Name] = c.Action
	}
	return out
}

func wantActions(t testing.TB, changes []reconcile.Change, want map[string]reconcile.Action) {
	t.Helper()
	got := actions(changes)
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: action %q, want %q (changes: %v)", k, got[k], w, changes)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d changes, want %d: %v", len(got), len(want), changes)
	}
}

// get reads an object with the admin client; nil when it does not exist.
func get(t testing.TB, env *kube.Env, apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	c, err := client.New(env.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := &unstructured.Unstructured{}
	o.SetAPIVersion(apiVersion)
	o.SetKind(kind)
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, o); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil
		}
		t.Fatalf("get %s %s/%s: %v", kind, namespace, name, err)
	}
	return o
}

func adminClient(t testing.TB, env *kube.Env) client.Client {
	t.Helper()
	c, err := client.New(env.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func configMap(name string, data map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: NS}\ndata:\n", name)
	for k, v := range data {
		fmt.Fprintf(&b, "  %s: %q\n", k, v)
	}
	return b.String()
}
