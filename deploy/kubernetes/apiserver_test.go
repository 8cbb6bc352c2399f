package kubernetes

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/stewardhq/steward/deploy/testenv/kube"
	"github.com/stewardhq/steward/reconcile"
)

// warnings collects the API server's Warning headers (Pod Security
// admission reports through them).
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.msgs
	w.msgs = nil
	return m
}

// applier server-side applies objects as the admin, strictly validated.
type applier struct {
	dyn    dynamic.Interface
	mapper meta.RESTMapper
	warn   *warnings
}

func newApplier(t *testing.T, env *kube.Env) *applier {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	w := &warnings{}
	cfg.WarningHandler = w
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &applier{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)), warn: w}
}

// apply server-side applies o (dry-run only when dryRun) with strict field
// validation.
func (a *applier) apply(ctx context.Context, o *reconcile.Object, dryRun bool) error {
	gvk := o.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return err
	}
	data, err := json.Marshal(o.Object)
	if err != nil {
		return err
	}
	opts := metav1.PatchOptions{FieldManager: "steward-test", FieldValidation: "Strict", Force: new(true)}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var ri dynamic.ResourceInterface = a.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = a.dyn.Resource(m.Resource).Namespace(o.GetNamespace())
	}
	_, err = ri.Patch(ctx, o.GetName(), types.ApplyPatchType, data, opts)
	return err
}

func id(o *reconcile.Object) string { return o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName() }

// TestServerSideDryRun dry-runs every object of the base and its components
// against the API server: strict schema validation, admission (Pod Security
// "restricted" in steward-system) and RBAC's own checks of the roles.
func TestServerSideDryRun(t *testing.T) {
	env := shared.Get(t)
	a := newApplier(t, env)
	objs := build(t, "testdata/all")
	// Namespaced objects can only be dry-run in a namespace that exists:
	// the Namespace is dry-run first, then created for real.
	ns := find(objs, "Namespace", "steward-system")
	if err := a.apply(t.Context(), ns, true); err != nil {
		t.Fatalf("dry-run %s: %v", id(ns), err)
	}
	if err := a.apply(t.Context(), ns, false); err != nil {
		t.Fatalf("apply %s: %v", id(ns), err)
	}
	a.warn.take()
	checked := 0
	for _, o := range objs {
		if o.GetKind() == "ServiceMonitor" {
			// No prometheus-operator CRD in the test cluster; TestComponents
			// checks it against the Service offline.
			t.Logf("%s: not dry-run (monitoring.coreos.com CRD not installed)", id(o))
			continue
		}
		if err := a.apply(t.Context(), o, true); err != nil {
			t.Errorf("dry-run %s: %v", id(o), err)
		}
		if w := a.warn.take(); len(w) > 0 {
			t.Errorf("dry-run %s: warnings %q", id(o), w)
		}
		checked++
	}
	if checked != len(objs)-1 {
		t.Fatalf("dry-ran %d of %d objects", checked, len(objs))
	}

	// The same checks refuse what they should, so their silence above means
	// something.
	dep := find(objs, "Deployment", "steward").DeepCopy()
	containers := dep.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
	c := containers[0].(map[string]any)
	c["securityContext"].(map[string]any)["capabilities"] = map[string]any{"drop": []any{"ALL"}, "add": []any{"NET_RAW"}}
	if err := a.apply(t.Context(), dep, true); err != nil {
		t.Fatalf("dry-run of a Deployment adding a capability: %v", err)
	}
	if w := strings.Join(a.warn.take(), "\n"); !strings.Contains(w, "NET_RAW") {
		t.Errorf("an added capability drew no Pod Security warning: %q", w)
	}
	c["readinessProbe"].(map[string]any)["httpGett"] = map[string]any{"path": "/readyz"}
	if err := a.apply(t.Context(), dep, true); err == nil || !strings.Contains(err.Error(), "httpGett") {
		t.Errorf("dry-run of an unknown field: %v, want a strict-validation error naming it", err)
	}
}
