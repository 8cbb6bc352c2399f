// Package gentest holds what the generators' tests share: rendering objects
// as the YAML stream golden files hold, comparing with a golden file
// (rewritten under -update), and copying a directory into an fstest.MapFS,
// the stand-in for a tree read from git's object store. Only tests import it.
package gentest

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stewardhq/steward/reconcile"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// Render turns objects into a YAML stream, as reconcile.MarshalObject
// renders each.
func Render(tb testing.TB, objs []*reconcile.Object) []byte {
	tb.Helper()
	var b bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			b.WriteString("---\n")
		}
		data, err := reconcile.MarshalObject(o)
		if err != nil {
			tb.Fatal(err)
		}
		b.Write(data)
	}
	return b.Bytes()
}

// Want is the golden file of a case: testdata/<name>/want.yaml.
func Want(name string) string { return filepath.Join("testdata", name, "want.yaml") }

// Golden compares got with file, rewriting file under -update.
func Golden(tb testing.TB, file string, got []byte) {
	tb.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		tb.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from the output (run go test -update to accept):\n%s",
			file, reconcile.UnifiedDiff(file, "output", string(want), string(got)))
	}
}

// MapFS copies the directory root into a MapFS: files with their modes,
// directories, and symlinks as links.
func MapFS(tb testing.TB, root string) fstest.MapFS {
	tb.Helper()
	m := fstest.MapFS{}
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			m[rel] = &fstest.MapFile{Data: []byte(filepath.ToSlash(target)), Mode: fs.ModeSymlink | 0o777}
		case info.IsDir():
			m[rel] = &fstest.MapFile{Mode: fs.ModeDir | info.Mode().Perm()}
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			m[rel] = &fstest.MapFile{Data: data, Mode: info.Mode().Perm()}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}
