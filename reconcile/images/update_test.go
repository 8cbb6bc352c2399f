package images

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

func TestPlanAndWrite(t *testing.T) {
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
	s, err := reconcile.ParseStack([]byte(treeStack), "steward.yaml")
	if err != nil {
		t.Fatal(err)
	}
	choices := []Choice{
		{Policy: "app", Tag: "2.0", Ref: Ref{Name: "registry.example.com/app", Tag: "2.0"}},
		{Policy: "web", Tag: "1.1", Ref: Ref{Name: "registry.example.com/web", Tag: "1.1", Digest: "sha256:ab"}},
		{Policy: "broken", Err: ErrNoMatch},
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	edits, warns, err := Plan(root.FS(), s, choices)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range edits {
		paths = append(paths, e.Path)
	}
	if strings.Join(paths, " ") != "apps/app/deploy.yaml apps/web/values.yaml" {
		t.Fatalf("edited files %v", paths)
	}
	if len(edits[0].Changes) != 2 || len(warns) != 1 || !strings.Contains(warns[0].String(), "apps/app/deploy.yaml:3: a :digest marker of policy app") {
		t.Fatalf("changes %v, warnings %v", edits[0].Changes, warns)
	}
	// Planning wrote nothing.
	if got, _ := os.ReadFile(filepath.Join(dir, "apps/app/deploy.yaml")); string(got) != files["apps/app/deploy.yaml"] {
		t.Fatal("Plan changed a file")
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
	edits, _, err = Plan(root.FS(), s, []Choice{{Policy: "app", Tag: "3.0", Ref: Ref{Name: "registry.example.com/app", Tag: "3.0"}}})
	if err != nil || len(edits) != 2 {
		t.Fatalf("second plan: %d edits, %v", len(edits), err)
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
