package helm_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/generators/helm"
	"github.com/stewardhq/steward/generators/internal/gentest"
	"github.com/stewardhq/steward/reconcile"
)

// A chart whose Chart.yaml dependencies are not under charts/ fails like
// helm template does, instead of rendering without them.
func TestDependencyMissing(t *testing.T) {
	objs, err := helm.New(nil).Generate(context.Background(), request(t, "deps-missing", "chart", &reconcile.Unit{Name: "u"}))
	if err == nil {
		t.Fatalf("no error; rendered %d objects", len(objs))
	}
	var de *helm.DependencyError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want a *helm.DependencyError", err)
	}
	for _, w := range []string{"chart chart", "missing in charts/ directory: redis, cache"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

// file:// dependencies inside the repository render as helm dependency
// build would vendor them: once per alias, with the dependency's own
// values and version, from disk and from a git tree alike.
func TestDependencyFile(t *testing.T) {
	for _, mapfs := range []bool{false, true} {
		req := request(t, "deps-file", "apps/web", &reconcile.Unit{Name: "site"})
		req.Namespace = "apps"
		if mapfs {
			req.Tree, req.LocalDir = gentest.MapFS(t, filepath.Join("testdata", "deps-file")), ""
		}
		objs, err := helm.New(nil).Generate(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range objs {
			got = append(got, reconcile.IDOf(o).String())
		}
		want := []string{"ConfigMap/apps/site-common-hello", "ConfigMap/apps/site-extra-again", "ConfigMap/apps/site-web"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("mapfs=%v: objects %v, want %v", mapfs, got, want)
		}
	}
}

func TestDependencyFileErrors(t *testing.T) {
	tests := []struct {
		dir  string
		want []string
	}{
		{"apps/too-new", []string{"chart apps/too-new: dependency old", "libs/old has version 0.9.0, which does not satisfy ^1.0.0"}},
		{"apps/escape", []string{"chart apps/escape: dependency outside", "file://../../../../outside", "escapes the repository"}},
		{"apps/self", []string{"dependency self", "nest deeper than"}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			_, err := helm.New(nil).Generate(context.Background(), request(t, "deps-file", tt.dir, &reconcile.Unit{Name: "u"}))
			if err == nil {
				t.Fatal("no error")
			}
			var de *helm.DependencyError
			if !errors.As(err, &de) {
				t.Errorf("err = %v, want a *helm.DependencyError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
