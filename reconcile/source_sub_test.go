package reconcile_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

func TestSubRevision(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"stacks/shop/steward.yaml": "x", "top.yaml": "y"})
	rev := &reconcile.Revision{ID: "abc", Tree: os.DirFS(dir), Dir: dir}
	sub, err := reconcile.SubRevision(rev, "stacks/shop")
	if err != nil {
		t.Fatal(err)
	}
	if sub.ID != "abc" || sub.Dir != filepath.Join(dir, "stacks", "shop") {
		t.Fatalf("sub = %+v", sub)
	}
	if b, err := fs.ReadFile(sub.Tree, "steward.yaml"); err != nil || string(b) != "x" {
		t.Fatalf("read steward.yaml: %q %v", b, err)
	}
	if _, err := fs.ReadFile(sub.Tree, "../top.yaml"); err == nil {
		t.Fatal("the sub tree reaches above itself")
	}
	if same, _ := reconcile.SubRevision(rev, "."); same != rev {
		t.Fatal(`"." is not the revision itself`)
	}
}
