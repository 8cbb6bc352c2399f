package helm_test

import (
	"path/filepath"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"

	"github.com/stewardhq/steward/generators/helm"
	"github.com/stewardhq/steward/generators/internal/gentest"
	"github.com/stewardhq/steward/reconcile"
)

// helmTemplate renders the chart on disk at dir the way `helm template
// NAME DIR --namespace NS --kube-version 1.37.0` does, with helm's own
// loader (charts/ as it is on disk), and returns the objects of the
// manifest and of the hooks that are not tests (steward leaves tests out).
func helmTemplate(t *testing.T, dir, name, namespace string, vals map[string]any) []*reconcile.Object {
	t.Helper()
	chrt, err := loader.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if reqs := chrt.Metadata.Dependencies; reqs != nil {
		if err := action.CheckDependencies(chrt, reqs); err != nil {
			t.Fatal(err)
		}
	}
	inst := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	inst.DryRun, inst.DryRunOption, inst.ClientOnly, inst.Replace, inst.IncludeCRDs = true, "client", true, true, true
	inst.ReleaseName, inst.Namespace = name, namespace
	if inst.KubeVersion, err = chartutil.ParseKubeVersion(helm.DefaultKubeVersion); err != nil {
		t.Fatal(err)
	}
	rel, err := inst.Run(chrt, vals)
	if err != nil {
		t.Fatal(err)
	}
	stream := rel.Manifest
	for _, h := range rel.Hooks {
		test := false
		for _, e := range h.Events {
			test = test || e == release.HookTest
		}
		if !test {
			stream += "\n---\n" + h.Manifest
		}
	}
	objs, err := reconcile.DecodeObjects([]byte(stream), "helm template")
	if err != nil {
		t.Fatal(err)
	}
	reconcile.SortObjects(objs)
	return objs
}

// Public charts render as helm template renders them, compared as data; the
// cases and their sources are under testdata/parity (each with its LICENSE
// and SOURCE). podinfo's unit has no namespace and its target has one: the
// objects the chart places with .Release.Namespace land there too, as the
// rest do when the target defaults their namespace.
func TestParityPodinfo(t *testing.T) {
	const stack = `apiVersion: steward.dev/v1
kind: Stack
targets:
  prod: {kubernetes: {namespace: apps}}
units:
  - name: podinfo
    path: charts/podinfo
    target: prod
    generator:
      helm:
        set: {redis.enabled: true, hpa.enabled: true, serviceAccount.enabled: true, ui.message: "hello, world"}
`
	repo := filepath.Join("parity", "podinfo", "repo")
	ren := renderStack(t, repo, stack)[0]
	if ren.Err != nil {
		t.Fatal(ren.Err)
	}
	vals := map[string]any{
		"redis":          map[string]any{"enabled": true},
		"hpa":            map[string]any{"enabled": true},
		"serviceAccount": map[string]any{"enabled": true},
		"ui":             map[string]any{"message": "hello, world"},
	}
	want := helmTemplate(t, filepath.Join("testdata", repo, "charts", "podinfo"), "podinfo", "apps", vals)
	compare(t, ren.Objects, want)
	// Objects without a namespace get the target's when applied.
	for _, o := range ren.Objects {
		if ns := o.GetNamespace(); ns != "" && ns != "apps" {
			t.Errorf("%s is in namespace %s, not the target's (apps)", reconcile.IDOf(o), ns)
		}
	}
	gentest.Golden(t, filepath.Join("testdata", "parity", "podinfo", "want.yaml"), gentest.Render(t, ren.Objects))
}

// helm's own test chart with two file:// dependencies, committed with the
// archives `helm dependency build` made of them. Without charts/, steward
// resolves the file:// repositories itself and renders what helm renders
// from the archives.
func TestParityFileDependencies(t *testing.T) {
	dir := filepath.Join("testdata", "parity", "import-values", "repo")
	want := helmTemplate(t, filepath.Join(dir, "parent-chart"), "u", "default", map[string]any{})
	for _, vendored := range []bool{true, false} {
		tree := gentest.MapFS(t, dir)
		if !vendored {
			for name := range tree {
				if strings.HasPrefix(name, "parent-chart/charts/") {
					delete(tree, name)
				}
			}
		}
		got, err := helm.New(nil).Generate(t.Context(), reconcile.GenerateRequest{Tree: tree, Dir: "parent-chart", Unit: &reconcile.Unit{Name: "u"}})
		if err != nil {
			t.Fatalf("vendored=%v: %v", vendored, err)
		}
		compare(t, got, want)
	}
}

func compare(t *testing.T, got, want []*reconcile.Object) {
	t.Helper()
	if len(want) == 0 {
		t.Fatal("helm template rendered nothing")
	}
	if g, w := gentest.Render(t, got), gentest.Render(t, want); string(g) != string(w) {
		t.Errorf("steward and helm template differ:\n%s", reconcile.UnifiedDiff("helm template", "steward", string(w), string(g)))
	}
}
