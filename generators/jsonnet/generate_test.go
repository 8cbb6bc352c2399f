package jsonnet

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
		spec *reconcile.JsonnetGenerator
	}{
		{name: "tree", dir: "apps/monitoring", spec: &reconcile.JsonnetGenerator{JPath: []string{"jsonnet/libs"}}},
		{name: "vars", dir: "unit", spec: &reconcile.JsonnetGenerator{
			File:    "main.jsonnet",
			ExtVars: map[string]string{"env": "prod"},
			ExtCode: map[string]string{"replicas": "1 + 2", "debug": "false"},
			TLAs:    map[string]string{"name": "web"},
			TLACode: map[string]string{"config": "{ port: 8080 }"},
		}},
		{name: "single", dir: "u", spec: &reconcile.JsonnetGenerator{File: "app.jsonnet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := reconcile.GenerateRequest{Tree: os.DirFS(filepath.Join("testdata", tt.name, "repo")), Dir: tt.dir}
			objs, err := New(tt.spec).Generate(t.Context(), req)
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
