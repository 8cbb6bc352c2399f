package jsonnet

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/generators/internal/gentest"
	"github.com/stewardhq/steward/reconcile"
)

// TestTreeKinds evaluates fixtures over os.DirFS, an os.Root and a
// fstest.MapFS (standing in for a git tree) and expects the same result.
func TestTreeKinds(t *testing.T) {
	tests := []struct {
		name, dir string
		spec      *reconcile.JsonnetGenerator
	}{
		{name: "tree", dir: "apps/monitoring", spec: &reconcile.JsonnetGenerator{JPath: []string{"jsonnet/libs"}}},
		{name: "bad-runtime", dir: "u"},
		{name: "bad-import-outside", dir: "u"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := filepath.Join("testdata", tt.name, "repo")
			root, err := os.OpenRoot(repo)
			must(t, err)
			defer root.Close()
			var first []byte
			for _, kind := range []string{"dirfs", "root", "mapfs"} {
				tree := map[string]fs.FS{"dirfs": os.DirFS(repo), "root": root.FS(), "mapfs": gentest.MapFS(t, repo)}[kind]
				objs, err := New(tt.spec).Generate(t.Context(), reconcile.GenerateRequest{Tree: tree, Dir: tt.dir})
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

// TestSymlinks refuses imports that leave the repository through a
// symlink, and follows links that stay inside.
func TestSymlinks(t *testing.T) {
	outside := t.TempDir()
	must(t, os.WriteFile(filepath.Join(outside, "secret.libsonnet"), []byte("{ name: 'outside' }"), 0o644))
	main := "local l = import 'linked.libsonnet';\n{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: l.name } }\n"
	tests := []struct {
		name    string
		link    string // target of u/linked.libsonnet, or of u itself when unitLink
		unitOut bool
		wantErr string
		want    string
	}{
		{name: "inside", link: "../lib/real.libsonnet", want: "inside"},
		{name: "absolute-out", link: filepath.Join(outside, "secret.libsonnet"), wantErr: `u/main.jsonnet:1: path "u/linked.libsonnet" leaves the repository through symlink`},
		{name: "relative-out", link: "../../" + filepath.Base(outside) + "/secret.libsonnet", wantErr: `u/main.jsonnet:1: path "u/linked.libsonnet" leaves the repository through symlink`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := filepath.Join(filepath.Dir(outside), "repo-"+tt.name)
			t.Cleanup(func() { os.RemoveAll(repo) })
			must(t, os.MkdirAll(filepath.Join(repo, "u"), 0o755))
			must(t, os.MkdirAll(filepath.Join(repo, "lib"), 0o755))
			must(t, os.WriteFile(filepath.Join(repo, "u", "main.jsonnet"), []byte(main), 0o644))
			must(t, os.WriteFile(filepath.Join(repo, "lib", "real.libsonnet"), []byte("{ name: 'inside' }"), 0o644))
			must(t, os.Symlink(tt.link, filepath.Join(repo, "u", "linked.libsonnet")))
			root, err := os.OpenRoot(repo)
			must(t, err)
			defer root.Close()
			for kind, tree := range map[string]fs.FS{"dirfs": os.DirFS(repo), "root": root.FS(), "mapfs": gentest.MapFS(t, repo)} {
				objs, err := New(nil).Generate(t.Context(), reconcile.GenerateRequest{Tree: tree, Dir: "u"})
				if tt.wantErr != "" {
					var se *reconcile.SourceError
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &se) {
						t.Errorf("%s: error %v, want %q", kind, err, tt.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", kind, err)
				}
				if len(objs) != 1 || objs[0].GetName() != tt.want {
					t.Errorf("%s: got %v, want one object named %s", kind, objs, tt.want)
				}
			}
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
