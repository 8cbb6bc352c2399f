package yaml

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stewardhq/steward/reconcile"
)

// FuzzGenerate feeds arbitrary file content through the generator: it must
// never panic, every object it returns has the required fields, and every
// error about the content names the file.
func FuzzGenerate(f *testing.F) {
	for _, seed := range []string{"multidoc/repo/manifests/app.yaml", "multidoc/repo/manifests/service.json", "multidoc/repo/manifests/sub/deeper/list.yaml", "bad-malformed/repo/m/b.yaml", "bad-nokind/repo/m/a.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", seed))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a: &a {b: 1}\nc: *a\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tree := fstest.MapFS{"u/f.yaml": {Data: data}}
		objs, err := New(nil).Generate(t.Context(), reconcile.GenerateRequest{Tree: tree, Dir: "u"})
		if err != nil {
			var se *reconcile.SourceError
			var de *reconcile.DuplicateError
			if !errors.As(err, &de) && (!errors.As(err, &se) || se.File != "u/f.yaml") {
				t.Fatalf("error %q names no file", err)
			}
			return
		}
		for _, o := range objs {
			if o.GetAPIVersion() == "" || o.GetKind() == "" || o.GetName() == "" {
				t.Fatalf("object without apiVersion, kind or name: %v", o.Object)
			}
		}
	})
}
