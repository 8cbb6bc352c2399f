package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// monorepo writes a stack of n kustomize units of per objects each (a
// shared base per unit plus an overlay with a patch), the shape of a real
// monorepo, and returns its files.
func monorepo(n, per int) map[string]string {
	files := map[string]string{}
	var stack strings.Builder
	stack.WriteString(stackHeader + "units:\n")
	for u := range n {
		name := fmt.Sprintf("svc%03d", u)
		fmt.Fprintf(&stack, "  - {name: %s, path: apps/%s/overlay, generator: {kustomize: {}}, target: prod}\n", name, name)
		var res []string
		for i := range per - 1 {
			f := fmt.Sprintf("cm%02d.yaml", i)
			res = append(res, f)
			files[fmt.Sprintf("apps/%s/base/%s", name, f)] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s-%d}\ndata: {key: value-%d}\n", name, i, i)
		}
		files[fmt.Sprintf("apps/%s/base/deploy.yaml", name)] = fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %s}
spec:
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec: {containers: [{name: app, image: "example/%s:1.0", resources: {limits: {cpu: 100m}}}]}
`, name, name, name, name)
		res = append(res, "deploy.yaml")
		files[fmt.Sprintf("apps/%s/base/kustomization.yaml", name)] = "resources: [" + strings.Join(res, ", ") + "]\n"
		files[fmt.Sprintf("apps/%s/overlay/kustomization.yaml", name)] = "namespace: " + name + "\nresources: [../base]\npatches: [{path: replicas.yaml}]\n"
		files[fmt.Sprintf("apps/%s/overlay/replicas.yaml", name)] = fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: %s}\nspec: {replicas: 2}\n", name)
	}
	files["steward.yaml"] = stack.String()
	return files
}

// BenchmarkBuildAfterOneUnitChange compares `steward build` of a 200-unit,
// 4000-object repository after a change to one unit (generation cache warm)
// with the cold build of the same repository. Goal: ratio <= 0.05.
func BenchmarkBuildAfterOneUnitChange(b *testing.B) {
	dir := b.TempDir()
	writeTree(b, dir, monorepo(200, 20))
	// A checkout made earlier, as in a real working copy: entries newer
	// than the cache's racy window would all be re-hashed.
	old := time.Now().Add(-time.Hour)
	if err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, old, old)
	}); err != nil {
		b.Fatal(err)
	}
	var cold, warm time.Duration
	for i := range b.N {
		cache := b.TempDir()
		start := time.Now()
		if code, _, errOut := runBench(b, cache, "build", "-C", dir); code != 0 {
			b.Fatalf("cold build: exit %d: %s", code, errOut)
		}
		cold += time.Since(start)

		writeTree(b, dir, map[string]string{"apps/svc007/overlay/replicas.yaml": fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: svc007}\nspec: {replicas: %d}\n", 3+i)})
		start = time.Now()
		code, out, errOut := runBench(b, cache, "build", "-C", dir)
		warm += time.Since(start)
		if code != 0 || !strings.Contains(out, fmt.Sprintf("replicas: %d", 3+i)) {
			b.Fatalf("warm build: exit %d (change not in output?): %s", code, errOut)
		}
	}
	ratio := float64(warm) / float64(cold)
	b.ReportMetric(float64(cold.Milliseconds())/float64(b.N), "cold-ms")
	b.ReportMetric(float64(warm.Milliseconds())/float64(b.N), "one-unit-change-ms")
	b.ReportMetric(ratio, "ratio")
	b.Logf("steward build, 200 units / 4000 objects: cold %v, after a one-unit change %v, ratio %.3f (goal <= 0.05)",
		cold/time.Duration(b.N), warm/time.Duration(b.N), ratio)
}

func runBench(b *testing.B, cache string, args ...string) (int, string, string) {
	b.Helper()
	return runIn(b, cache, args...)
}
