package kustomize

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stewardhq/steward/generators/internal/gentest"
	"github.com/stewardhq/steward/reconcile"
)

func TestGenerateGolden(t *testing.T) {
	tests := []struct {
		name string
		dir  string
	}{
		{name: "overlay", dir: "apps/overlays/prod"},
		{name: "generators", dir: "unit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := reconcile.GenerateRequest{Tree: os.DirFS(filepath.Join("testdata", tt.name, "repo")), Dir: tt.dir}
			objs, err := New(nil).Generate(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) == 0 {
				t.Fatal("no objects")
			}
			gentest.Golden(t, gentest.Want(tt.name), gentest.Render(t, objs))
		})
	}
}
