package kustomize

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

// TestTreeKinds builds each fixture over os.DirFS, an os.Root and a
// fstest.MapFS (standing in for a git tree) and expects the same result.
func TestTreeKinds(t *testing.T) {
	for name, dir := range map[string]string{"overlay": "apps/overlays/prod", "generators": "unit", "bad-remote-git": "app/overlay", "bad-missing": "app"} {
		t.Run(name, func(t *testing.T) {
			repo := filepath.Join("testdata", name, "repo")
			root, err := os.OpenRoot(repo)
			must(t, err)
			defer root.Close()
			var first []byte
			for _, kind := range []string{"dirfs", "root", "mapfs"} {
				tree := map[string]fs.FS{"dirfs": os.DirFS(repo), "root": root.FS(), "mapfs": gentest.MapFS(t, repo)}[kind]
				objs, err := New(nil).Generate(t.Context(), reconcile.GenerateRequest{Tree: tree, Dir: dir})
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

// TestSymlinks refuses kustomizations that reach outside the repository
// through a symlink, on disk and in a MapFS, and follows links that stay in.
func TestSymlinks(t *testing.T) {
	outside := t.TempDir()
	must(t, os.WriteFile(filepath.Join(outside, "cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: outside}\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(outside, "kustomization.yaml"), []byte("resources: [cm.yaml]\n"), 0o644))
	tests := []struct {
		name    string
		kust    string
		links   map[string]string
		wantErr string
		want    int
	}{
		{name: "file-inside", kust: "resources: [cm.yaml, linked.yaml]\n", links: map[string]string{"app/linked.yaml": "../shared/cm.yaml"}, want: 2},
		{name: "file-out", kust: "resources: [cm.yaml, secret.yaml]\n", links: map[string]string{"app/secret.yaml": filepath.Join(outside, "cm.yaml")}, wantErr: `app/kustomization.yaml:1: resources entry "secret.yaml": path is outside the repository: path "app/secret.yaml" leaves the repository`},
		{name: "base-out", kust: "resources: [base]\n", links: map[string]string{"app/base": outside}, wantErr: `app/kustomization.yaml:1: resources entry "base": path is outside the repository`},
		{name: "generator-file-out", kust: "configMapGenerator:\n- name: x\n  files: [data=passwd]\n", links: map[string]string{"app/passwd": "../../" + filepath.Base(outside) + "/cm.yaml"}, wantErr: `app/kustomization.yaml:3: configMapGenerator[0].files entry "passwd": path is outside the repository`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := filepath.Join(filepath.Dir(outside), "repo-"+tt.name)
			must(t, os.MkdirAll(filepath.Join(repo, "app"), 0o755))
			must(t, os.MkdirAll(filepath.Join(repo, "shared"), 0o755))
			t.Cleanup(func() { os.RemoveAll(repo) })
			must(t, os.WriteFile(filepath.Join(repo, "app", "kustomization.yaml"), []byte(tt.kust), 0o644))
			must(t, os.WriteFile(filepath.Join(repo, "app", "cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: inside}\n"), 0o644))
			must(t, os.WriteFile(filepath.Join(repo, "shared", "cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\n"), 0o644))
			for link, target := range tt.links {
				must(t, os.Symlink(target, filepath.Join(repo, link)))
			}
			root, err := os.OpenRoot(repo)
			must(t, err)
			defer root.Close()
			for kind, tree := range map[string]fs.FS{"dirfs": os.DirFS(repo), "root": root.FS(), "mapfs": gentest.MapFS(t, repo)} {
				objs, err := New(nil).Generate(t.Context(), reconcile.GenerateRequest{Tree: tree, Dir: "app"})
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrOutside) {
						t.Errorf("%s: error %v, want %q", kind, err, tt.wantErr)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", kind, err)
				}
				if len(objs) != tt.want {
					t.Errorf("%s: %d objects, want %d", kind, len(objs), tt.want)
				}
			}
		})
	}
}

// TestTreeFSConfined checks the kustomize file system itself, below the
// kustomization check: it reads nothing outside the repository and writes
// nothing at all.
func TestTreeFSConfined(t *testing.T) {
	outside := t.TempDir()
	must(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("s3cret"), 0o644))
	repo := t.TempDir()
	must(t, os.WriteFile(filepath.Join(repo, "ok.yaml"), []byte("ok"), 0o644))
	must(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(repo, "link")))
	must(t, os.Symlink(outside, filepath.Join(repo, "dirlink")))
	fsys := newTreeFS(os.DirFS(repo))
	if data, err := fsys.ReadFile("/ok.yaml"); err != nil || string(data) != "ok" {
		t.Fatalf("ReadFile(/ok.yaml) = %q, %v", data, err)
	}
	if data, err := fsys.ReadFile("/../ok.yaml"); err != nil || string(data) != "ok" {
		t.Fatalf("ReadFile(/../ok.yaml) = %q, %v: the root is the top", data, err)
	}
	for _, p := range []string{"/link", "/dirlink/secret"} {
		if data, err := fsys.ReadFile(p); err == nil {
			t.Errorf("ReadFile(%s) = %q, want an error", p, data)
		}
		if _, err := fsys.Open(p); err == nil {
			t.Errorf("Open(%s) succeeded", p)
		}
		if fsys.Exists(p) {
			t.Errorf("Exists(%s) is true", p)
		}
	}
	if got, _ := fsys.Glob("/*"); strings.Join(got, ",") != "/ok.yaml" {
		t.Errorf("Glob(/*) = %v, want only /ok.yaml", got)
	}
	if err := fsys.WriteFile("/new", []byte("x")); !errors.Is(err, errReadOnly) {
		t.Errorf("WriteFile: %v, want read-only", err)
	}
	if _, err := fsys.Create("/new"); !errors.Is(err, errReadOnly) {
		t.Errorf("Create: %v, want read-only", err)
	}
	if err := fsys.RemoveAll("/ok.yaml"); !errors.Is(err, errReadOnly) {
		t.Errorf("RemoveAll: %v, want read-only", err)
	}
	if _, err := os.Stat(filepath.Join(repo, "ok.yaml")); err != nil {
		t.Errorf("ok.yaml is gone: %v", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
