package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/stewardhq/steward/deploy/testenv/kube"
)

// kubeScaleSizes are the unit counts of the Kubernetes series (each unit 4
// ConfigMaps); STEWARD_SCALE_KUBE_SIZES overrides them.
var kubeScaleSizes = []int{1000, 3000}

// BenchmarkScaleKubernetes is the scale series against the testenv
// kube-apiserver at steward's default client QPS and burst: `steward run`
// with N units of 4 ConfigMaps each (one namespace), timed from start to
// every object applied and /readyz answering, with peak RSS and the growth
// exponent between sizes.
func BenchmarkScaleKubernetes(b *testing.B) {
	env := kubeEnv.Get(b)
	client, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		b.Fatal(err)
	}
	bin := buildSteward(b)
	sizes := kubeScaleSizes
	if v := envSizes(b, "STEWARD_SCALE_KUBE_SIZES"); v != nil {
		sizes = v
	}
	var points []scalePoint
	for _, n := range sizes {
		b.Run(fmt.Sprintf("units=%d", n), func(b *testing.B) {
			for range b.N {
				ns := env.Namespace(b)
				repo, work := b.TempDir(), b.TempDir()
				initRepo(b, repo, kubeFleet(ns, n))
				requests := apiRequests(b, client)
				start := time.Now()
				d := startQuiet(b, bin, work, benchEnv, "run", "-C", repo, "--kubeconfig", env.Kubeconfig,
					"--concurrency", "8", "--poll-interval", "1h", "--interval", "1h")
				p := scalePoint{units: n, first: time.Since(start), cpu: processCPU(b, d.cmd.Process.Pid), rssMiB: peakRSS(b, d.cmd.Process.Pid)}
				perObject := float64(apiRequests(b, client)-requests) / float64(4*n)
				cms, err := client.CoreV1().ConfigMaps(ns).List(context.Background(), metav1.ListOptions{})
				if err != nil {
					b.Fatal(err)
				}
				got := 0
				for _, cm := range cms.Items {
					if cm.Data["unit"] != "" { // not the cluster's kube-root-ca.crt, where one is made
						got++
					}
				}
				if got != 4*n {
					b.Fatalf("ready with %d of the stack's ConfigMaps in %s, want %d", got, ns, 4*n)
				}
				if err := d.stop(b); err != nil {
					b.Fatalf("steward run exited with %v:\n%s", err, tail(d.log.String(), 4000))
				}
				b.ReportMetric(p.first.Seconds(), "first-pass-s")
				b.ReportMetric(p.rssMiB, "peak-MiB")
				b.ReportMetric(perObject, "requests/object")
				b.Logf("kubernetes, %d units / %d ConfigMaps at the default QPS: first pass %.1f s (%.0f objects/s, %.1f s CPU), %.2f API requests per object, peak RSS %.0f MiB",
					n, 4*n, p.first.Seconds(), float64(4*n)/p.first.Seconds(), p.cpu.Seconds(), perObject, p.rssMiB)
				points = append(points, p)
				logExponents(b, points)
			}
		})
	}
}

// kubeFleet is a stack of n units on one Kubernetes target (the testenv
// context, namespace ns), each of 4 ConfigMaps. Unit names carry the
// namespace: the in-cluster inventory is kept per unit name.
func kubeFleet(ns string, n int) map[string]string {
	files := map[string]string{}
	var stack strings.Builder
	fmt.Fprintf(&stack, "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  cluster: {kubernetes: {credentials: %s, namespace: %s}}\nunits:\n", kube.Context, ns)
	for u := range n {
		name := fmt.Sprintf("%s-u%05d", ns, u)
		fmt.Fprintf(&stack, "  - {name: %s, path: units/u%05d, generator: {yaml: {}}, target: cluster}\n", name, u)
		var f strings.Builder
		for i := range 4 {
			fmt.Fprintf(&f, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: u%05d-c%d, namespace: %s}\ndata: {unit: u%05d, index: \"%d\"}\n", u, i, ns, u, i)
		}
		files[filepath.ToSlash(fmt.Sprintf("units/u%05d/objects.yaml", u))] = f.String()
	}
	files["steward.yaml"] = stack.String()
	return files
}

// apiRequests returns how many requests the API server has answered
// (apiserver_request_total, every verb and resource), as its metrics say.
func apiRequests(b *testing.B, client *kubernetes.Clientset) int64 {
	b.Helper()
	raw, err := client.RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		b.Fatalf("API server metrics: %v", err)
	}
	var total float64
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			b.Fatalf("API server metrics: %q: %v", line, err)
		}
		total += v
	}
	return int64(total)
}
