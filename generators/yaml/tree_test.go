package yaml

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stewardhq/steward/generators/internal/gentest"
	"github.com/stewardhq/steward/reconcile"
)

// TestTreeKinds runs each fixture over os.DirFS, an os.Root and a
// fstest.MapFS (standing in for a git tree) and expects the same objects.
func TestTreeKinds(t *testing.T) {
	for _, name := range []string{"multidoc", "bad-malformed", "bad-duplicate"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name, "repo")
			root, err := os.OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			trees := map[string]fs.FS{"dirfs": os.DirFS(dir), "root": root.FS(), "mapfs": gentest.MapFS(t, dir)}
			var first []byte
			for _, kind := range []string{"dirfs", "root", "mapfs"} {
				dir := "manifests"
				if name != "multidoc" {
					dir = "m"
				}
				objs, err := New(nil).Generate(t.Context(), reconcile.GenerateRequest{Tree: trees[kind], Dir: dir})
				got := gentest.Render(t, objs)
				if err != nil {
					got = []byte("error: " + err.Error())
				}
				if first == nil {
					first = got
					continue
				}
				if !bytes.Equal(got, first) {
					t.Errorf("%s gives\n%s\ndirfs gives\n%s", kind, got, first)
				}
			}
		})
	}
}

const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\n"

// TestSymlinks follows links that stay inside the repository and refuses
// links that leave it, on disk and in a MapFS.
func TestSymlinks(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.yaml"), []byte(strings.ReplaceAll(cm, "%s", "outside")), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		links   map[string]string // link -> target
		dir     string
		wantErr string
		want    []string // object names
	}{
		{name: "inside", links: map[string]string{"unit/linked.yaml": "../shared/shared.yaml"}, dir: "unit", want: []string{"shared", "own"}},
		{name: "relative-out", links: map[string]string{"unit/out.yaml": "../../outside/secret.yaml"}, dir: "unit", wantErr: "unit/out.yaml: path \"unit/out.yaml\" leaves the repository"},
		{name: "absolute-out", links: map[string]string{"unit/abs.yaml": filepath.Join(outside, "secret.yaml")}, dir: "unit", wantErr: "unit/abs.yaml: path \"unit/abs.yaml\" leaves the repository"},
		{name: "unit-dir-out", links: map[string]string{"elsewhere": outside}, dir: "elsewhere", wantErr: "unit path: path \"elsewhere\" leaves the repository"},
		{name: "dir-link-not-descended", links: map[string]string{"unit/sub": "../shared"}, dir: "unit", want: []string{"own"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := t.TempDir()
			for p, content := range map[string]string{"unit/own.yaml": "own", "shared/shared.yaml": "shared"} {
				must(t, os.MkdirAll(filepath.Join(repo, filepath.Dir(p)), 0o755))
				must(t, os.WriteFile(filepath.Join(repo, p), []byte(strings.ReplaceAll(cm, "%s", content)), 0o644))
			}
			for link, target := range tt.links {
				must(t, os.Symlink(target, filepath.Join(repo, link)))
			}
			root, err := os.OpenRoot(repo)
			must(t, err)
			defer root.Close()
			trees := map[string]fs.FS{"dirfs": os.DirFS(repo), "root": root.FS(), "mapfs": gentest.MapFS(t, repo)}
			for kind, tree := range trees {
				objs, err := New(nil).Generate(t.Context(), reconcile.GenerateRequest{Tree: tree, Dir: tt.dir})
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Errorf("%s: error %v, want %q", kind, err, tt.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", kind, err)
				}
				var names []string
				for _, o := range objs {
					names = append(names, o.GetName())
				}
				if strings.Join(names, ",") != strings.Join(tt.want, ",") {
					t.Errorf("%s: objects %v, want %v", kind, names, tt.want)
				}
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var _ fs.ReadLinkFS = fstest.MapFS{}
