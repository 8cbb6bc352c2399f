package yaml

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/generators/internal/gentest"
	"github.com/stewardhq/steward/reconcile"
)

// A unit at the repository root does not read steward.yaml or steward.lock
// as manifests, and honours its .stewardignore; a .stewardignore applies
// only to the unit whose path holds it.
func TestIgnore(t *testing.T) {
	tests := []struct {
		dir  string
		want []string
	}{
		{".", []string{"ConfigMap/app", "ConfigMap/kept", "ConfigMap/ignored-by-sub", "ConfigMap/nested"}},
		{"sub", []string{"ConfigMap/nested"}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			for _, mapfs := range []bool{false, true} {
				tree := os.DirFS(filepath.Join("testdata", "rootlevel", "repo"))
				if mapfs {
					tree = gentest.MapFS(t, filepath.Join("testdata", "rootlevel", "repo"))
				}
				objs, err := New(nil).Generate(t.Context(), reconcile.GenerateRequest{Tree: tree, Dir: tt.dir})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, o := range objs {
					got = append(got, reconcile.IDOf(o).String())
				}
				if strings.Join(got, " ") != strings.Join(tt.want, " ") {
					t.Errorf("mapfs=%v: objects %v, want %v", mapfs, got, tt.want)
				}
			}
		})
	}
}
