package reconcile_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

func openRoot(t *testing.T, dir string) *os.Root {
	t.Helper()
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteOutputReplacesYAMLFiles(t *testing.T) {
	repo := t.TempDir()
	writeFiles(t, repo, map[string]string{
		"rendered/u/stale.yaml": "old\n",
		"rendered/u/keep.txt":   "not yaml\n",
		"rendered/u/a.yaml":     "before\n",
		"rendered/u/sub/x.yaml": "a directory is left alone\n",
	})
	files := map[string][]byte{"a.yaml": []byte("after\n"), "b.yaml": []byte("new\n")}
	if err := reconcile.WriteOutput(openRoot(t, repo), "rendered/u", files); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(repo, "rendered/u")
	if got := readFile(t, filepath.Join(dir, "a.yaml")); got != "after\n" {
		t.Errorf("a.yaml = %q", got)
	}
	if got := readFile(t, filepath.Join(dir, "b.yaml")); got != "new\n" {
		t.Errorf("b.yaml = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "stale.yaml")); !os.IsNotExist(err) {
		t.Errorf("stale.yaml kept: %v", err)
	}
	for _, kept := range []string{"keep.txt", "sub/x.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, kept)); err != nil {
			t.Errorf("%s removed: %v", kept, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), "tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// A committed symlink never redirects a write or a removal out of the
// output tree: a symlinked file, a symlinked output directory and a
// symlinked parent are all refused before anything changes.
func TestWriteOutputRefusesSymlinks(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, repo, outside string)
		dir   string
		bad   string
	}{
		{"file", func(t *testing.T, repo, outside string) {
			writeFiles(t, repo, map[string]string{"rendered/u/other.yaml": "stays\n"})
			symlink(t, filepath.Join(outside, "victim.yaml"), filepath.Join(repo, "rendered/u/a.yaml"))
		}, "rendered/u", "rendered/u/a.yaml"},
		{"stale file", func(t *testing.T, repo, outside string) {
			writeFiles(t, repo, map[string]string{"rendered/u/other.yaml": "stays\n"})
			symlink(t, filepath.Join(outside, "victim.yaml"), filepath.Join(repo, "rendered/u/gone.yaml"))
		}, "rendered/u", "rendered/u/gone.yaml"},
		{"output directory", func(t *testing.T, repo, outside string) {
			writeFiles(t, repo, map[string]string{"rendered/.keep": "x"})
			symlink(t, outside, filepath.Join(repo, "rendered/u"))
		}, "rendered/u", "rendered/u"},
		{"parent directory", func(t *testing.T, repo, outside string) {
			symlink(t, outside, filepath.Join(repo, "rendered"))
		}, "rendered/u", "rendered"},
		{"symlink inside the repository", func(t *testing.T, repo, _ string) {
			writeFiles(t, repo, map[string]string{"elsewhere/victim.yaml": "victim\n"})
			symlink(t, "../elsewhere", filepath.Join(repo, "out"))
		}, "out", "out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo, outside := t.TempDir(), t.TempDir()
			writeFiles(t, outside, map[string]string{"victim.yaml": "victim\n", "u/victim.yaml": "victim\n"})
			tt.setup(t, repo, outside)
			files := map[string][]byte{"a.yaml": []byte("attacker: shaped\n")}
			err := reconcile.WriteOutput(openRoot(t, repo), tt.dir, files)
			var oe *reconcile.OutputError
			if !errors.Is(err, reconcile.ErrSymlink) || !errors.As(err, &oe) || oe.Path != tt.bad {
				t.Fatalf("err = %v, want a symlink refusal naming %s", err, tt.bad)
			}
			for _, p := range []string{filepath.Join(outside, "victim.yaml"), filepath.Join(outside, "u/victim.yaml")} {
				if got := readFile(t, p); got != "victim\n" {
					t.Errorf("%s changed: %q", p, got)
				}
			}
			if _, err := os.Stat(filepath.Join(outside, "a.yaml")); !os.IsNotExist(err) {
				t.Errorf("wrote outside the output tree: %v", err)
			}
			if b, err := os.ReadFile(filepath.Join(repo, "rendered/u/other.yaml")); err == nil && string(b) != "stays\n" {
				t.Errorf("other.yaml changed before the refusal: %q", b)
			}
			if b, err := os.ReadFile(filepath.Join(repo, "elsewhere/victim.yaml")); err == nil && string(b) != "victim\n" {
				t.Errorf("wrote through an in-repository symlink: %q", b)
			}
		})
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestOutputFile(t *testing.T) {
	objs, err := reconcile.DecodeObjects([]byte(
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n---\n"+
			"apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"+
			"apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: \"etc/a:b\"}\nspec: {path: /etc/a}\n"), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"apps_Deployment_shop_web.yaml", "Namespace_shop.yaml", "machine.steward.dev_File_etc-a-b.yaml"}
	for i, o := range objs {
		if got := reconcile.OutputFile(o); got != want[i] {
			t.Errorf("OutputFile(%s) = %q, want %q", reconcile.IDOf(o), got, want[i])
		}
	}
}
