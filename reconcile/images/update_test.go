package images

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// editsFor rewrites the named files of root to the refs by policy, the way a
// write-back proposal does, without writing anything.
func editsFor(t *testing.T, root *os.Root, refs map[string]Ref, paths ...string) []FileEdit {
	t.Helper()
	var edits []FileEdit
	for _, p := range paths {
		old, err := root.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out, changes, _ := Rewrite(p, old, func(m Marker) (string, bool) {
			r, ok := refs[m.Policy]
			if !ok || (m.Field == FieldDigest && r.Digest == "") {
				return "", false
			}
			return r.Value(m.Field), true
		})
		if len(changes) > 0 {
			edits = append(edits, FileEdit{Path: p, Old: old, New: out, Changes: changes})
		}
	}
	return edits
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"apps/app/deploy.yaml": "a: registry.example.com/app:1.0 # {\"$imagepolicy\": \"app\"}\r\n" +
			"w: registry.example.com/web:1.0 # {\"$imagepolicy\": \"web\"}\r\n" +
			"d: sha256:00 # {\"$imagepolicy\": \"app:digest\"}\r\n",
		"apps/web/values.yaml":   "tag: '1.0' # {\"$imagepolicy\": \"web:tag\"}\n",
		"apps/web/failing.yaml":  "x: registry.example.com/broken:1 # {\"$imagepolicy\": \"broken\"}\n",
		"apps/web/current.yaml":  "y: registry.example.com/app:2.0 # {\"$imagepolicy\": \"app\"}\n",
		"shared/untouched.yaml":  "z: 1\n",
		"elsewhere/outside.yaml": "a: registry.example.com/app:1.0 # {\"$imagepolicy\": \"app\"}\n",
	}
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	refs := map[string]Ref{
		"app": {Name: "registry.example.com/app", Tag: "2.0"},
		"web": {Name: "registry.example.com/web", Tag: "1.1", Digest: "sha256:ab"},
	}
	edits := editsFor(t, root, refs, "apps/app/deploy.yaml", "apps/web/values.yaml", "apps/web/current.yaml", "shared/untouched.yaml")
	var paths []string
	for _, e := range edits {
		paths = append(paths, e.Path)
	}
	if strings.Join(paths, " ") != "apps/app/deploy.yaml apps/web/values.yaml" {
		t.Fatalf("edited files %v", paths)
	}
	if len(edits[0].Changes) != 2 {
		t.Fatalf("changes %v", edits[0].Changes)
	}
	// Making the edits wrote nothing.
	if got, _ := os.ReadFile(filepath.Join(dir, "apps/app/deploy.yaml")); string(got) != files["apps/app/deploy.yaml"] {
		t.Fatal("making an edit changed a file")
	}
	if err := Write(root, edits); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"apps/app/deploy.yaml": "a: registry.example.com/app:2.0 # {\"$imagepolicy\": \"app\"}\r\n" +
			"w: registry.example.com/web:1.1@sha256:ab # {\"$imagepolicy\": \"web\"}\r\n" +
			"d: sha256:00 # {\"$imagepolicy\": \"app:digest\"}\r\n",
		"apps/web/values.yaml": "tag: '1.1@sha256:ab' # {\"$imagepolicy\": \"web:tag\"}\n",
	}
	for p, content := range files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		w, edited := want[p]
		if !edited {
			w = content
		}
		if string(got) != w {
			t.Errorf("%s:\n%q\nwant\n%q", p, got, w)
		}
	}
	if info, _ := os.Stat(filepath.Join(dir, "apps/app/deploy.yaml")); info.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640 kept", info.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "apps/app/.*steward*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// A human edit between plan and write wins.
	edits = editsFor(t, root, map[string]Ref{"app": {Name: "registry.example.com/app", Tag: "3.0"}}, "apps/app/deploy.yaml", "apps/web/current.yaml")
	if len(edits) != 2 {
		t.Fatalf("second edits: %d", len(edits))
	}
	human := "# a human was here\n" + want["apps/app/deploy.yaml"]
	if err := os.WriteFile(filepath.Join(dir, "apps/app/deploy.yaml"), []byte(human), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Write(root, edits); !errors.Is(err, ErrChangedUnderneath) || !strings.Contains(err.Error(), "apps/app/deploy.yaml") {
		t.Fatalf("write over a human edit: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "apps/app/deploy.yaml")); string(got) != human {
		t.Fatal("the human edit was overwritten")
	}
}
