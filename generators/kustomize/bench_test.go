package kustomize

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/deploy/testenv"
	"github.com/stewardhq/steward/reconcile"
)

// Fixture shape: a base of benchFiles files with benchPerFile resources each,
// and benchOverlays overlays of it (namePrefix, labels, a strategic-merge and
// a JSON6902 patch over every Deployment, one named patch), aggregated by the
// kustomization at the top.
const (
	benchOverlays = 4
	benchFiles    = 25
	benchPerFile  = 40 // 10 each of Deployment, Service, ConfigMap, ServiceAccount
	benchTotal    = benchOverlays * benchFiles * benchPerFile
)

// writeBenchFixture writes the fixture under dir and returns the directory
// to build, relative to dir.
func writeBenchFixture(tb testing.TB, dir string) string {
	tb.Helper()
	write := func(p, content string) {
		p = filepath.Join(dir, p)
		must(tb, os.MkdirAll(filepath.Dir(p), 0o755))
		must(tb, os.WriteFile(p, []byte(content), 0o644))
	}
	var kust strings.Builder
	kust.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	for f := range benchFiles {
		var b strings.Builder
		for i := range benchPerFile / 4 {
			n := fmt.Sprintf("app-%02d-%02d", f, i)
			fmt.Fprintf(&b, `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  labels: {app: %[1]s}
spec:
  replicas: 1
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      containers:
        - name: main
          image: registry.example.com/%[1]s:1.0.0
          ports: [{containerPort: 8080, name: http}]
          resources:
            requests: {cpu: 10m, memory: 16Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  selector: {app: %[1]s}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: %[1]s
data:
  LOG_LEVEL: info
  LISTEN: ":8080"
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: %[1]s
`, n)
		}
		name := fmt.Sprintf("res-%02d.yaml", f)
		write("base/"+name, b.String())
		fmt.Fprintf(&kust, "  - %s\n", name)
	}
	write("base/kustomization.yaml", kust.String())
	top := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
	for o := range benchOverlays {
		env := fmt.Sprintf("env%d", o)
		top += "  - ../overlays/" + env + "\n"
		write("overlays/"+env+"/kustomization.yaml", fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namePrefix: %[1]s-
labels:
  - pairs: {env: %[1]s, tier: web}
resources:
  - ../../base
patches:
  - path: limits.yaml
    target: {kind: Deployment}
  - path: image.json
    target: {group: apps, version: v1, kind: Deployment}
  - path: first.yaml
`, env))
		write("overlays/"+env+"/limits.yaml", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: any
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: main
          resources:
            limits: {cpu: 500m, memory: 128Mi}
`)
		write("overlays/"+env+"/image.json", fmt.Sprintf(`[
  {"op": "add", "path": "/metadata/annotations", "value": {"steward.dev/overlay": "%s"}},
  {"op": "replace", "path": "/spec/template/spec/containers/0/imagePullPolicy", "value": "IfNotPresent"}
]
`, env))
		write("overlays/"+env+"/first.yaml", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-00-00
spec:
  replicas: 5
`)
	}
	write("all/kustomization.yaml", top)
	return "all"
}

// BenchmarkKustomize4000 builds a 4000-resource fixture with steward's
// in-process kustomize and with `kubectl kustomize` in the same run, and
// reports both and their ratio (goal <= 1.0).
func BenchmarkKustomize4000(b *testing.B) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		testenv.Missing(b, "kubectl not on PATH")
	}
	repo := b.TempDir()
	dir := writeBenchFixture(b, repo)
	root, err := os.OpenRoot(repo)
	must(b, err)
	defer root.Close()
	gen := New(nil)
	var steward, peer time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		objs, err := gen.Generate(b.Context(), reconcile.GenerateRequest{Tree: root.FS(), Dir: dir, LocalDir: repo})
		steward += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if len(objs) != benchTotal {
			b.Fatalf("steward built %d objects, want %d", len(objs), benchTotal)
		}

		start = time.Now()
		cmd := exec.CommandContext(b.Context(), kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone", filepath.Join(repo, dir))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err = cmd.Run()
		peer += time.Since(start)
		if err != nil {
			b.Fatalf("kubectl kustomize: %v\n%s", err, stderr.Bytes())
		}
		if n := bytes.Count(stdout.Bytes(), []byte("\n---\n")) + 1; n != benchTotal {
			b.Fatalf("kubectl kustomize built %d objects, want %d", n, benchTotal)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(steward.Nanoseconds())/n, "steward-ns/op")
	b.ReportMetric(float64(peer.Nanoseconds())/n, "kubectl-ns/op")
	b.ReportMetric(float64(steward)/float64(peer), "ratio")
	b.Logf("kustomize build of %d resources: steward %v/op, kubectl kustomize %v/op, ratio %.2f",
		benchTotal, steward/time.Duration(b.N), peer/time.Duration(b.N), float64(steward)/float64(peer))
}
