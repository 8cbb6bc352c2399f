package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/stewardhq/steward/reconcile"
)

// The API server is down at plan time, then goes away in the middle of an
// apply: clear errors, an inventory that records only what exists, and a
// next sync that completes.
func TestAPIServerGoesAway(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	t.Cleanup(func() {
		if err := env.StartAPIServer(ctx); err != nil && !strings.Contains(err.Error(), "already running") {
			t.Errorf("restart kube-apiserver: %v", err)
		}
	})

	// Down at plan time.
	tg := testTarget(t, env.Config)
	u := unit("away-" + ns)
	var manifests []string
	for i := range 200 {
		manifests = append(manifests, configMap(fmt.Sprintf("cm-%03d", i), map[string]string{"i": fmt.Sprint(i)}))
	}
	objs := objects(t, ns, strings.Join(manifests, "---\n"))
	if err := env.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	_, err := tg.Plan(ctx, reconcile.ApplyRequest{Unit: u, Objects: objs})
	var ie *InventoryError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("plan with the server down: %v, want a read-inventory error saying connection refused", err)
	}
	if err := env.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}

	// Goes away after 50 applies.
	var patches atomic.Int32
	stopped := make(chan error, 1)
	cfg := rest.CopyConfig(env.Config)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := rt.RoundTrip(r)
			if r.Method == http.MethodPatch && patches.Add(1) == 50 {
				go func() { stopped <- env.StopAPIServer() }()
			}
			return resp, err
		})
	}
	slow := DefaultOptions()
	slow.QPS, slow.Burst, slow.Concurrency = 40, 10, 4
	tg, err = New(cfg, slow)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := tg.Plan(ctx, reconcile.ApplyRequest{Unit: u, Objects: objs})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := tg.Apply(ctx, plan)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if err == nil || !errors.As(err, &ie) {
		t.Errorf("apply error = %v, want the inventory write to fail", err)
	}
	created, failed := cs.Count(reconcile.Created), cs.Count(reconcile.Failed)
	if created < 40 || failed == 0 || created+failed != len(objs) {
		t.Errorf("created %d failed %d of %d", created, failed, len(objs))
	}
	if err := env.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	// Whatever the inventory holds exists.
	inv, _, err := tg.readInventory(ctx, u.Name, u.StackName())
	if err != nil {
		t.Fatal(err)
	}
	for id := range inv {
		if get(t, env, "v1", "ConfigMap", id.Namespace, id.Name) == nil {
			t.Errorf("inventory records %s, which does not exist", id)
		}
	}
	// The next sync completes.
	cs = mustSync(t, testTarget(t, env.Config), u, objs)
	if cs.Count(reconcile.Created)+cs.Count(reconcile.Unchanged) != len(objs) {
		t.Errorf("next sync: %d created, %d unchanged, %d failed", cs.Count(reconcile.Created), cs.Count(reconcile.Unchanged), cs.Count(reconcile.Failed))
	}
	if inv, _, _ := tg.readInventory(ctx, u.Name, u.StackName()); len(inv) != len(objs) {
		t.Errorf("inventory has %d objects, want %d", len(inv), len(objs))
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
