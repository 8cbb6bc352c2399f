package kustomize

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv"
	"github.com/stewardhq/steward/generators/internal/gentest"
	"github.com/stewardhq/steward/reconcile"
)

// TestParityWithKubectl builds the golden fixtures with `kubectl kustomize`
// (load restrictions off, as steward builds) and expects the same objects.
// kubectl is the one `make testenv` builds (deploy/testenv/kubectl), at the
// version of the test API server, not whatever is on PATH.
func TestParityWithKubectl(t *testing.T) {
	kubectl := filepath.Join(testenv.BinDir(), "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		testenv.Missing(t, "no kubectl in %s", testenv.BinDir())
	}
	for name, dir := range map[string]string{"overlay": "apps/overlays/prod", "generators": "unit"} {
		t.Run(name, func(t *testing.T) {
			repo := filepath.Join("testdata", name, "repo")
			cmd := exec.CommandContext(t.Context(), kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone", filepath.Join(repo, dir))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("kubectl kustomize: %v\n%s", err, stderr.Bytes())
			}
			want, err := reconcile.DecodeObjects(out, "kubectl kustomize")
			if err != nil {
				t.Fatal(err)
			}
			got, err := New(nil).Generate(t.Context(), reconcile.GenerateRequest{Tree: os.DirFS(repo), Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			if g, w := gentest.Render(t, got), gentest.Render(t, want); !bytes.Equal(g, w) {
				t.Errorf("steward:\n%s\nkubectl kustomize:\n%s", g, w)
			}
		})
	}
}
