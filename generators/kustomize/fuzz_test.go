package kustomize

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stewardhq/steward/reconcile"
)

// FuzzCheck feeds arbitrary kustomization files to the reference check: it
// never panics, never lets a remote entry through, and its errors name the
// kustomization file.
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		"overlay/repo/apps/overlays/prod/kustomization.yaml",
		"overlay/repo/apps/base/kustomization.yaml",
		"generators/repo/unit/kustomization.yaml",
		"bad-remote-git/repo/app/base/kustomization.yaml",
		"bad-outside-cmgen/repo/app/kustomization.yaml",
		"bad-helm/repo/app/kustomization.yaml",
	} {
		data, err := os.ReadFile(filepath.Join("testdata", seed))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("resources: [base, ../x, git::https://example.com/r.git]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tree := fstest.MapFS{
			"app/kustomization.yaml":      {Data: data},
			"app/cm.yaml":                 {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")},
			"app/base/kustomization.yaml": {Data: []byte("resources: [../cm.yaml]\n")},
		}
		refs, _ := parseRefs(data, "app/kustomization.yaml")
		c := &checker{tree: tree, visited: map[string]bool{}}
		err := c.checkDir("app")
		if err == nil {
			for _, r := range refs {
				if isRemote(r.value) && !(r.kind == inlineable && strings.Contains(r.value, "\n")) {
					t.Fatalf("remote entry %q passed the check", r.value)
				}
				if p := path.Join("app", r.value); !r.unsupported && (strings.HasPrefix(p, "../") || path.IsAbs(r.value)) {
					t.Fatalf("outside entry %q passed the check", r.value)
				}
			}
			return
		}
		var se *reconcile.SourceError
		if errors.As(err, &se) && !strings.HasPrefix(se.File, "app/") {
			t.Fatalf("error %q names %q", err, se.File)
		}
	})
}
