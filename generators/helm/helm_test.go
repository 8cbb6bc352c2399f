package helm_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/stewardhq/steward/generators/helm"
	"github.com/stewardhq/steward/generators/internal/gentest"
	"github.com/stewardhq/steward/reconcile"
)

// request generates the unit at dir of the repository rooted at
// testdata/<repo>, from disk.
func request(t *testing.T, repo, dir string, unit *reconcile.Unit) reconcile.GenerateRequest {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("testdata", repo))
	if err != nil {
		t.Fatal(err)
	}
	return reconcile.GenerateRequest{Tree: os.DirFS(root), Dir: dir, LocalDir: root, Unit: unit, Revision: "0123abc"}
}

func ptr[T any](v T) *T { return &v }

var fullSpec = &reconcile.HelmGenerator{
	Chart:       ".",
	Values:      []string{"values-prod.yaml", "values-eu.yaml"},
	Set:         map[string]any{"image.tag": "2.0.0", "config.greeting": "hi", "cache.size": "128Mi"},
	APIVersions: []string{"example.com/v1"},
}

func TestGenerateGolden(t *testing.T) {
	tests := []struct {
		name   string
		spec   *reconcile.HelmGenerator
		unit   *reconcile.Unit
		golden string
	}{
		{"values, set, crds, subchart, hooks", fullSpec,
			&reconcile.Unit{Name: "web", Namespace: "shop"}, "want.yaml"},
		{"defaults without crds", &reconcile.HelmGenerator{IncludeCRDs: ptr(false), ReleaseName: "rel", KubeVersion: "1.30.2"},
			&reconcile.Unit{Name: "web"}, "want-nocrds.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := helm.New(tt.spec).Generate(context.Background(), request(t, "full", "app", tt.unit))
			if err != nil {
				t.Fatal(err)
			}
			gentest.Golden(t, filepath.Join("testdata", "full", tt.golden), gentest.Render(t, objs))
		})
	}
}

func TestGenerateContents(t *testing.T) {
	objs, err := helm.New(fullSpec).Generate(context.Background(),
		request(t, "full", "app", &reconcile.Unit{Name: "web", Namespace: "shop"}))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*reconcile.Object{}
	for _, o := range objs {
		byID[reconcile.IDOf(o).String()] = o
	}
	for id, why := range map[string]string{
		"apiextensions.k8s.io/CustomResourceDefinition/widgets.example.com": "crds/",
		"Service/shop/web-cache":    "vendored subchart",
		"batch/Job/web-app-migrate": "pre-install hook, kept like helm template",
	} {
		if _, ok := byID[id]; !ok {
			t.Errorf("missing %s (%s) in %v", id, why, keys(byID))
		}
	}
	if _, ok := byID["Pod/web-app-test-connection"]; ok {
		t.Error("test hook was rendered")
	}
	cm := byID["ConfigMap/shop/web-app-config"]
	if cm == nil {
		t.Fatalf("no config map in %v", keys(byID))
	}
	data, _, _ := unstructured.NestedMap(cm.Object, "data")
	want := map[string]any{"greeting": "hi", "color": "purple", "region": "eu-west"}
	for k, v := range want {
		if data[k] != v {
			t.Errorf("data.%s = %v, want %v (values files in order, then set)", k, data[k], v)
		}
	}
	dep := byID["apps/Deployment/shop/web-app"]
	if dep == nil {
		t.Fatalf("no deployment in %v", keys(byID))
	}
	if r, _, _ := unstructured.NestedInt64(dep.Object, "spec", "replicas"); r != 3 {
		t.Errorf("replicas = %d, want 3 from values-prod.yaml", r)
	}
	svc := byID["Service/shop/web-cache"]
	if got := svc.GetAnnotations()["cache-size"]; got != "128Mi" {
		t.Errorf("subchart cache-size = %q, want the parent's set value 128Mi", got)
	}
}

// A tree read from git's object store (no disk) renders exactly like the
// checkout.
func TestGenerateFromMapFS(t *testing.T) {
	unit := &reconcile.Unit{Name: "web", Namespace: "shop"}
	disk, err := helm.New(fullSpec).Generate(context.Background(), request(t, "full", "app", unit))
	if err != nil {
		t.Fatal(err)
	}
	req := reconcile.GenerateRequest{Tree: gentest.MapFS(t, filepath.Join("testdata", "full")), Dir: "app", Unit: unit}
	mem, err := helm.New(fullSpec).Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if d, m := gentest.Render(t, disk), gentest.Render(t, mem); !bytes.Equal(d, m) {
		t.Errorf("MapFS render differs from disk render:\n--- disk\n%s\n--- mapfs\n%s", d, m)
	}
	if len(mem) == 0 {
		t.Error("no objects rendered")
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name  string
		repo  string
		dir   string
		spec  *reconcile.HelmGenerator
		want  []string
		is    error
		mapfs bool
	}{
		{name: "missing values file", repo: "missing-values", dir: "chart",
			spec: &reconcile.HelmGenerator{Values: []string{"values-prod.yaml"}},
			want: []string{"values file", "chart/values-prod.yaml"}, is: fs.ErrNotExist},
		{name: "missing values file from git tree", repo: "missing-values", dir: "chart", mapfs: true,
			spec: &reconcile.HelmGenerator{Values: []string{"values-prod.yaml"}},
			want: []string{"values file", "chart/values-prod.yaml"}, is: fs.ErrNotExist},
		{name: "values file outside the repo", repo: "missing-values", dir: "chart",
			spec: &reconcile.HelmGenerator{Values: []string{"../../secrets.yaml"}},
			want: []string{"values file", "escapes the repository"}},
		{name: "absolute values file", repo: "missing-values", dir: "chart",
			spec: &reconcile.HelmGenerator{Values: []string{"/etc/passwd"}},
			want: []string{"values file", "/etc/passwd", "absolute"}},
		{name: "malformed values file", repo: "bad-values", dir: "chart",
			spec: &reconcile.HelmGenerator{Values: []string{"values-bad.yaml"}},
			want: []string{"chart/values-bad.yaml", "line 2"}},
		{name: "chart outside the repo", repo: "missing-values", dir: "chart",
			spec: &reconcile.HelmGenerator{Chart: "../.."},
			want: []string{"chart", "escapes the repository"}},
		{name: "chart directory missing", repo: "missing-values", dir: "chart",
			spec: &reconcile.HelmGenerator{Chart: "nope"},
			want: []string{"read chart", "chart/nope"}, is: fs.ErrNotExist},
		{name: "chart file symlinked outside the repo", repo: "symlink-out", dir: "chart",
			want: []string{"chart/files/leak", "leaves the repository"}},
		{name: "chart file symlinked outside the git tree", repo: "symlink-out", dir: "chart", mapfs: true,
			want: []string{"chart/files/leak", "leaves the repository"}},
		{name: "template error names file and line", repo: "template-error", dir: "chart",
			want: []string{"render chart chart", "template-error/templates/bad.yaml:6:", "database"}},
		{name: "object without kind", repo: "no-kind", dir: "chart",
			want: []string{"chart/templates/nokind.yaml:1:", "no kind"}, is: reconcile.ErrMissingField},
		{name: "duplicate object", repo: "duplicate", dir: "chart",
			want: []string{"duplicate object ConfigMap/default/same"}},
		{name: "bad set path", repo: "missing-values", dir: "chart",
			spec: &reconcile.HelmGenerator{Set: map[string]any{"a[x]": "1"}},
			want: []string{"set a[x]"}},
		{name: "bad kube version", repo: "missing-values", dir: "chart",
			spec: &reconcile.HelmGenerator{KubeVersion: "latest"},
			want: []string{`kubeVersion "latest"`}},
		{name: "bad release name", repo: "missing-values", dir: "chart",
			spec: &reconcile.HelmGenerator{ReleaseName: "Not_Valid"},
			want: []string{"release name", "Not_Valid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request(t, tt.repo, tt.dir, &reconcile.Unit{Name: "u"})
			if tt.mapfs {
				req.Tree, req.LocalDir = gentest.MapFS(t, filepath.Join("testdata", tt.repo)), ""
			}
			objs, err := helm.New(tt.spec).Generate(context.Background(), req)
			if err == nil {
				t.Fatalf("no error; got %d objects", len(objs))
			}
			t.Log(err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

func TestGenerateCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := helm.New(nil).Generate(ctx, request(t, "full", "app", &reconcile.Unit{Name: "web"}))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func keys(m map[string]*reconcile.Object) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
