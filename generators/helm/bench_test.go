package helm_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/stewardhq/steward/generators/helm"
	"github.com/stewardhq/steward/reconcile"
)

// BenchmarkGenerate renders the full fixture chart through the revision tree
// (steward) and, side by side, with helm's own directory loader and the same
// client-only install (what `helm template` does), reporting
// steward/helm as "ratio". steward also decodes the output into objects,
// which the peer does not; goal ≤ 1.5×.
func BenchmarkGenerate(b *testing.B) {
	unit := &reconcile.Unit{Name: "web", Namespace: "shop"}
	root, err := filepath.Abs(filepath.Join("testdata", "full"))
	if err != nil {
		b.Fatal(err)
	}
	req := reconcile.GenerateRequest{Tree: os.DirFS(root), Dir: "app", LocalDir: root, Unit: unit}
	g := helm.New(&reconcile.HelmGenerator{IncludeCRDs: ptr(true)})

	runSteward := func() {
		if _, err := g.Generate(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
	runHelm := func() {
		chrt, err := loader.LoadDir(filepath.Join(root, "app"))
		if err != nil {
			b.Fatal(err)
		}
		inst := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
		inst.DryRun, inst.ClientOnly, inst.Replace, inst.IncludeCRDs = true, true, true, true
		inst.ReleaseName, inst.Namespace = "web", "shop"
		inst.KubeVersion, _ = chartutil.ParseKubeVersion(helm.DefaultKubeVersion)
		if _, err := inst.Run(chrt, map[string]any{}); err != nil {
			b.Fatal(err)
		}
	}
	runSteward() // warm both paths (page cache, template parsing) so -benchtime 1x is fair
	runHelm()

	var steward, peer time.Duration
	for b.Loop() {
		start := time.Now()
		runSteward()
		steward += time.Since(start)
		start = time.Now()
		runHelm()
		peer += time.Since(start)
	}
	ratio := float64(steward) / float64(peer)
	b.ReportMetric(float64(steward.Nanoseconds())/float64(b.N), "steward-ns/op")
	b.ReportMetric(float64(peer.Nanoseconds())/float64(b.N), "helm-ns/op")
	b.ReportMetric(ratio, "ratio")
	b.Logf("steward %v, helm template (in-process) %v per render: ratio %.2f", steward/time.Duration(b.N), peer/time.Duration(b.N), ratio)
}
