package kubernetes

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/stewardhq/steward/deploy/testenv"
	"github.com/stewardhq/steward/reconcile"
)

// benchQPS and benchBurst are steward's defaults. kubectl has no flag for
// its limits: its clients run at client-go's defaults (5/10), but it makes a
// new client, with a new limiter, per object mapping, so no limit binds it
// and it runs as fast as one request after another goes. Measured at 5/10,
// steward is bound by its (shared) limiter: 5 obj/s against kubectl's 30.
const (
	benchQPS   = 50
	benchBurst = 100
)

// benchSet renders 1000 objects in ns: 300 ConfigMaps, 300 Services, 299
// Deployments, one CRD (group GROUP) and 100 of its custom resources. The CRD
// is returned apart, as kubectl needs it applied before its resources.
func benchSet(ns string) (crd string, rest []string) {
	group := ns + ".bench.example.com"
	crd = strings.ReplaceAll(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.GROUP}
spec:
  group: GROUP
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget, listKind: GadgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
`, "GROUP", group)
	for i := range 300 {
		rest = append(rest, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: %s}\ndata: {index: \"%d\", text: hello}\n", i, ns, i))
		rest = append(rest, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: svc-%d, namespace: %s}
spec:
  selector: {app: app-%d}
  ports: [{name: http, port: 80, targetPort: 8080}]
`, i, ns, i))
	}
	for i := range 299 {
		rest = append(rest, fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: app-%d, namespace: %s}
spec:
  replicas: 1
  selector: {matchLabels: {app: app-%d}}
  template:
    metadata: {labels: {app: app-%d}}
    spec:
      containers:
      - name: app
        image: registry.example/app:1.%d
        ports: [{containerPort: 8080}]
        resources: {limits: {cpu: 100m, memory: 64Mi}}
`, i, ns, i, i, i))
	}
	for i := range 100 {
		rest = append(rest, fmt.Sprintf("apiVersion: %s/v1\nkind: Gadget\nmetadata: {name: g-%d, namespace: %s}\nspec: {size: %d}\n", group, i, ns, i))
	}
	return crd, rest
}

// BenchmarkColdApply applies 1000 new objects with steward and with
// kubectl apply --server-side, at the same client QPS and burst.
func BenchmarkColdApply(b *testing.B) {
	env := shared.Get(b)
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		testenv.Missing(b, "kubectl not on PATH")
	}
	for range b.N {
		// steward
		ns := env.Namespace(b)
		crd, others := benchSet(ns)
		objs := objects(b, ns, crd+"---\n"+strings.Join(others, "---\n"))
		opts := DefaultOptions()
		opts.QPS, opts.Burst = benchQPS, benchBurst
		opts.Logger = slog.New(slog.DiscardHandler)
		tg, err := New(env.Config, opts)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		plan, err := tg.Plan(context.Background(), reconcile.ApplyRequest{Unit: unit("bench-" + ns), Objects: objs})
		if err != nil {
			b.Fatal(err)
		}
		cs, err := tg.Apply(context.Background(), plan)
		if err != nil {
			b.Fatal(err)
		}
		stewardTime := time.Since(start)
		if n := cs.Count(reconcile.Created); n != 1000 {
			b.Fatalf("steward created %d objects, want 1000", n)
		}

		// kubectl: the CRD, wait until established, then the rest.
		kns := env.Namespace(b)
		kcrd, krest := benchSet(kns)
		dir := b.TempDir()
		write := func(name, content string) string {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				b.Fatal(err)
			}
			return p
		}
		crdFile := write("crd.yaml", kcrd)
		restFile := write("objects.yaml", strings.Join(krest, "---\n"))
		run := func(args ...string) {
			cmd := exec.Command(kubectl, append([]string{"--kubeconfig", env.Kubeconfig}, args...)...)
			cmd.Env = append(os.Environ(), "KUBECACHEDIR="+filepath.Join(dir, "cache"))
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, tail(out))
			}
		}
		start = time.Now()
		run("apply", "--server-side", "-f", crdFile)
		run("wait", "--for=condition=Established", "--timeout=60s", "crd/gadgets."+kns+".bench.example.com")
		run("apply", "--server-side", "-f", restFile)
		kubectlTime := time.Since(start)

		s, k := 1000/stewardTime.Seconds(), 1000/kubectlTime.Seconds()
		b.ReportMetric(s, "steward_obj/s")
		b.ReportMetric(k, "kubectl_obj/s")
		b.ReportMetric(s/k, "ratio")
		b.Logf("cold apply of 1000 objects at QPS %d burst %d: steward %s (%.1f obj/s), kubectl apply --server-side %s (%.1f obj/s), ratio %.2f",
			benchQPS, benchBurst, stewardTime.Round(time.Millisecond), s, kubectlTime.Round(time.Millisecond), k, s/k)
	}
}

// BenchmarkSteadyState counts API requests per unchanged object for a sync
// of 1000 applied objects, with steward and with ssa's ApplyAll.
func BenchmarkSteadyState(b *testing.B) {
	env := shared.Get(b)
	ns := env.Namespace(b)
	crd, others := benchSet(ns)
	objs := objects(b, ns, crd+"---\n"+strings.Join(others, "---\n"))
	u := unit("steady-" + ns)
	var count atomic.Int64
	cfg := countingConfig(env.Config, &count)
	opts := DefaultOptions()
	opts.Logger = slog.New(slog.DiscardHandler)
	tg, err := New(cfg, opts)
	if err != nil {
		b.Fatal(err)
	}
	mustSync(b, tg, u, objs) // cold
	mustSync(b, tg, u, objs) // warm discovery
	for range b.N {
		count.Store(0)
		cs := mustSync(b, tg, u, objs)
		stewardReq := count.Load()
		if cs.HasChanges() || cs.Count(reconcile.Unchanged) != 1000 {
			b.Fatalf("steady state changed: %d unchanged", cs.Count(reconcile.Unchanged))
		}

		// ssa's ApplyAll on the same objects and field manager.
		hc, err := rest.HTTPClientFor(cfg)
		if err != nil {
			b.Fatal(err)
		}
		mapper, err := apiutil.NewDynamicRESTMapper(cfg, hc)
		if err != nil {
			b.Fatal(err)
		}
		c, err := client.New(cfg, client.Options{HTTPClient: hc, Mapper: mapper})
		if err != nil {
			b.Fatal(err)
		}
		rm := ssa.NewResourceManager(c, polling.NewStatusPoller(c, mapper, polling.Options{}), ssa.Owner{Field: "steward"})
		rm.SetConcurrency(10)
		plan, _ := tg.Plan(context.Background(), reconcile.ApplyRequest{Unit: u, Objects: objs})
		var prepared []*unstructured.Unstructured
		for _, p := range plan.Data.(*planData).objects {
			prepared = append(prepared, p.obj)
		}
		if _, err := rm.ApplyAll(context.Background(), prepared[:1], ssa.DefaultApplyOptions()); err != nil {
			b.Fatal(err) // warm the mapper
		}
		count.Store(0)
		scs, err := rm.ApplyAll(context.Background(), prepared, ssa.DefaultApplyOptions())
		if err != nil {
			b.Fatal(err)
		}
		ssaReq := count.Load()
		if len(scs.Entries) != 1000 {
			b.Fatalf("ssa: %d entries", len(scs.Entries))
		}
		sp, pp := float64(stewardReq)/1000, float64(ssaReq)/1000
		b.ReportMetric(sp, "steward_req/obj")
		b.ReportMetric(pp, "ssa_req/obj")
		b.ReportMetric(sp/pp, "ratio")
		b.Logf("steady state, 1000 unchanged objects: steward %d requests (%.3f/object), ssa ApplyAll %d requests (%.2f/object)",
			stewardReq, sp, ssaReq, pp)
	}
}

// countingConfig returns a copy of cfg whose requests add to n.
func countingConfig(cfg *rest.Config, n *atomic.Int64) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			n.Add(1)
			return rt.RoundTrip(r)
		})
	}
	return c
}

func tail(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return strings.Join(lines, "\n")
}
