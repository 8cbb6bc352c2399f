package kustomize

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stewardhq/steward/generators/internal/gentest"
	"github.com/stewardhq/steward/generators/internal/sandbox"
	"github.com/stewardhq/steward/reconcile"
)

// Isolated, a kustomization builds exactly as in process (the child reads
// the tree through this process), and a failing one fails with the same
// message.
func TestIsolatedSameAsInProcess(t *testing.T) {
	if sandbox.RaceEnabled {
		t.Skip("the race detector's shadow memory does not fit under the sandbox's RLIMIT_DATA")
	}
	opts := DefaultOptions()
	opts.Isolate, opts.MaxMemory = true, 512<<20
	for _, tt := range []struct{ name, dir string }{
		{"overlay", "apps/overlays/prod"},
		{"generators", "unit"},
		{"bad-missing", "."},
		{"bad-nokind", "."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := func() reconcile.GenerateRequest {
				return reconcile.GenerateRequest{Tree: os.DirFS(filepath.Join("testdata", tt.name, "repo")), Dir: tt.dir, Unit: &reconcile.Unit{Name: "u"}}
			}
			want, wantErr := New(nil).Generate(t.Context(), req())
			got, err := NewWithOptions(nil, opts).Generate(t.Context(), req())
			if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
				t.Fatalf("isolated err = %v, in process %v", err, wantErr)
			}
			if err != nil {
				return
			}
			if g, w := gentest.Render(t, got), gentest.Render(t, want); string(g) != string(w) || len(got) == 0 {
				t.Errorf("isolated output differs (%d objects):\n%s", len(got), reconcile.UnifiedDiff("in process", "isolated", string(w), string(g)))
			}
		})
	}
}
