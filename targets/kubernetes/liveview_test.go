package kubernetes

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stewardhq/steward/reconcile"
)

// TestLiveViewReadsTheUnitOnly keeps a unit's plan from reading its
// neighbours: with n other objects of the same kind in its namespace, a
// unit of 4 ConfigMaps reads the same objects and sends the same requests
// at n = 20 and n = 200. Every plan used to LIST the whole namespace per
// kind, so 3000 units of ConfigMaps in one namespace read 12 000 objects
// each. An object that exists without the unit's label (adopted, or its
// label removed) is still found, by a GET.
func TestLiveViewReadsTheUnitOnly(t *testing.T) {
	env := shared.Get(t)
	type cost struct{ requests, reads [3]int64 }
	var costs []cost
	for _, n := range []int{20, 200} {
		ns := env.Namespace(t)
		var neighbours []string
		for i := range n {
			neighbours = append(neighbours, configMap(fmt.Sprintf("other-%03d", i), map[string]string{"i": fmt.Sprint(i)}))
		}
		tg := testTarget(t, env.Config)
		mustSync(t, tg, unit("neighbours-"+ns), objects(t, ns, strings.Join(neighbours, "---\n")))

		// a exists already, unlabelled, with other data.
		c := adminClient(t, env)
		if err := c.Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: ns}, Data: map[string]string{"k": "old"}}); err != nil {
			t.Fatal(err)
		}
		var own []string
		for _, name := range []string{"a", "b", "c", "d"} {
			own = append(own, configMap(name, map[string]string{"k": name}))
		}
		objs := objects(t, ns, strings.Join(own, "---\n"))
		var count atomic.Int64
		tg = testTarget(t, countingConfig(env.Config, &count))
		mustSync(t, tg, unit("warm-"+ns), objects(t, ns, configMap("warm", nil))) // discovery
		u := unit("own-" + ns)
		var cs cost
		step := func(i int, want map[string]reconcile.Action) {
			t.Helper()
			count.Store(0)
			reads := tg.liveReads.Load()
			wantActions(t, mustSync(t, tg, u, objs).Changes, want)
			cs.requests[i], cs.reads[i] = count.Load(), tg.liveReads.Load()-reads
		}
		step(0, map[string]reconcile.Action{"ConfigMap/a": reconcile.Configured, "ConfigMap/b": reconcile.Created,
			"ConfigMap/c": reconcile.Created, "ConfigMap/d": reconcile.Created})
		step(1, map[string]reconcile.Action{"ConfigMap/a": reconcile.Unchanged, "ConfigMap/b": reconcile.Unchanged,
			"ConfigMap/c": reconcile.Unchanged, "ConfigMap/d": reconcile.Unchanged})
		// Someone removes the unit's label from b: it is read by a GET
		// and given its label back.
		var b corev1.ConfigMap
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "b"}, &b); err != nil {
			t.Fatal(err)
		}
		delete(b.Labels, UnitLabel)
		if err := c.Update(context.Background(), &b); err != nil {
			t.Fatal(err)
		}
		step(2, map[string]reconcile.Action{"ConfigMap/a": reconcile.Unchanged, "ConfigMap/b": reconcile.Configured,
			"ConfigMap/c": reconcile.Unchanged, "ConfigMap/d": reconcile.Unchanged})
		if got := get(t, env, "v1", "ConfigMap", ns, "b").GetLabels()[UnitLabel]; got != u.Name {
			t.Errorf("b's unit label after the sync: %q", got)
		}
		// First sync: a read by its GET. Steady: the 4 by label. Relabel:
		// 3 by label, b by its GET.
		if want := [3]int64{1, 4, 4}; cs.reads != want {
			t.Errorf("%d neighbours: live objects read per sync %v, want %v", n, cs.reads, want)
		}
		t.Logf("%d neighbours: requests per sync %v (first, steady, relabelled), live objects read %v", n, cs.requests, cs.reads)
		costs = append(costs, cs)
	}
	if costs[0].requests != costs[1].requests {
		t.Errorf("requests per sync grew with the neighbours: %v at 20, %v at 200", costs[0].requests, costs[1].requests)
	}
}
