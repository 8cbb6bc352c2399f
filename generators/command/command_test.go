package command_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stewardhq/steward/deploy/testenv"
	"github.com/stewardhq/steward/generators/command"
	"github.com/stewardhq/steward/generators/internal/gentest"
	"github.com/stewardhq/steward/reconcile"
)

// request runs the unit testdata/<dir> of the repository rooted at testdata,
// checked out on disk.
func request(t *testing.T, dir string) reconcile.GenerateRequest {
	t.Helper()
	root, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return reconcile.GenerateRequest{
		Tree:     os.DirFS(root),
		Dir:      dir,
		LocalDir: root,
		Unit:     &reconcile.Unit{Name: "web-hosts", Target: "web"},
		Revision: "4f2a9c1",
	}
}

func needSh(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"sh", "cat", "head", "sleep"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, "%s not installed", tool)
		}
	}
}

func TestGenerateGolden(t *testing.T) {
	needSh(t)
	tests := []struct {
		name string
		dir  string
		spec *reconcile.CommandGenerator
	}{
		{"script relative to the unit", "ok", &reconcile.CommandGenerator{Run: []string{"./gen.sh"}, Env: map[string]string{"GREETING": "hi there"}}},
		{"program on PATH", "path-lookup", &reconcile.CommandGenerator{Run: []string{"cat", "objects.yaml"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := command.New(tt.spec).Generate(context.Background(), request(t, tt.dir))
			if err != nil {
				t.Fatal(err)
			}
			gentest.Golden(t, filepath.Join("testdata", tt.dir, "want.yaml"), gentest.Render(t, objs))
		})
	}
}

// A revision read from git's object store is materialised (executable bits,
// symlinks) into a temporary directory that is removed afterwards, and runs
// exactly like the checkout.
func TestGenerateMaterialized(t *testing.T) {
	needSh(t)
	spec := &reconcile.CommandGenerator{Run: []string{"./gen.sh"}, Env: map[string]string{"GREETING": "hi there"}}
	disk, err := command.New(spec).Generate(context.Background(), request(t, "ok"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	req := request(t, "ok")
	req.Tree, req.LocalDir = gentest.MapFS(t, "testdata"), ""
	mem, err := command.New(spec).Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if d, m := gentest.Render(t, disk), gentest.Render(t, mem); !bytes.Equal(d, m) {
		t.Errorf("materialised run differs from the checkout:\n--- disk\n%s\n--- materialised\n%s", d, m)
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("temporary directory not removed: %v", left)
	}
}

func TestGenerateMaterializeRefusesEscapingLink(t *testing.T) {
	needSh(t)
	tree := fstest.MapFS{
		"unit/gen.sh":    {Data: []byte("#!/bin/sh\ncat passwd\n"), Mode: 0o755},
		"unit/passwd":    {Data: []byte("/etc/passwd"), Mode: fs.ModeSymlink | 0o777},
		"other/elsewise": {Data: []byte("../../outside"), Mode: fs.ModeSymlink | 0o777},
	}
	req := reconcile.GenerateRequest{Tree: tree, Dir: "unit", Unit: &reconcile.Unit{Name: "u"}}
	_, err := command.New(&reconcile.CommandGenerator{Run: []string{"./gen.sh"}}).Generate(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "unit/passwd -> /etc/passwd leaves the repository") {
		t.Fatalf("err = %v, want the escaping symlink named", err)
	}
}

// Only the declared env, PATH, HOME and the STEWARD_ variables reach the
// command.
func TestGenerateCleanEnvironment(t *testing.T) {
	needSh(t)
	t.Setenv("STEWARD_TEST_LEAK", "must-not-leak")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "must-not-leak")
	spec := &reconcile.CommandGenerator{Run: []string{"./env.sh"}, Env: map[string]string{"DECLARED": "yes"}}
	objs, err := command.New(spec).Generate(context.Background(), request(t, "env"))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 {
		t.Fatalf("got %d objects, want 1", len(objs))
	}
	data := objs[0].Object["data"].(map[string]any)
	for _, want := range []string{"PATH", "HOME", "DECLARED", "STEWARD_UNIT", "STEWARD_REVISION", "STEWARD_TARGET"} {
		if data[want] != "set" {
			t.Errorf("%s not in the environment: %v", want, data)
		}
	}
	shellOwn := map[string]bool{"PWD": true, "OLDPWD": true, "SHLVL": true, "_": true}
	for name := range data {
		switch {
		case shellOwn[name], name == "PATH", name == "HOME", name == "DECLARED", strings.HasPrefix(name, "STEWARD_") && name != "STEWARD_TEST_LEAK":
		default:
			t.Errorf("%s leaked into the environment", name)
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	needSh(t)
	tests := []struct {
		name string
		dir  string
		spec *reconcile.CommandGenerator
		want []string
		not  []string
		as   any
		is   error
	}{
		{name: "exits non-zero", dir: "fail", spec: &reconcile.CommandGenerator{Run: []string{"./fail.sh"}},
			want: []string{"command ./fail.sh", "exit status 3", "fatal: cannot reach the inventory service", "earlier bytes"},
			not:  []string{"progress line 0 "}, as: new(*exec.ExitError)},
		{name: "prints prose, not YAML", dir: "not-yaml", spec: &reconcile.CommandGenerator{Run: []string{"./gen.sh"}},
			want: []string{"web-hosts command stdout:1:", "scalar, not an object"}},
		{name: "prints broken YAML", dir: "broken-yaml", spec: &reconcile.CommandGenerator{Run: []string{"./gen.sh"}},
			want: []string{"web-hosts command stdout:"}},
		{name: "object without kind", dir: "no-kind", spec: &reconcile.CommandGenerator{Run: []string{"./gen.sh"}},
			want: []string{"web-hosts command stdout:5:", "no kind"}, is: reconcile.ErrMissingField},
		{name: "object without name", dir: "no-name", spec: &reconcile.CommandGenerator{Run: []string{"./gen.sh"}},
			want: []string{"web-hosts command stdout:1:", "ConfigMap has no metadata.name"}, is: reconcile.ErrMissingField},
		{name: "duplicate objects", dir: "duplicate", spec: &reconcile.CommandGenerator{Run: []string{"./gen.sh"}},
			want: []string{"duplicate object ConfigMap/a/twice"}, as: new(*reconcile.DuplicateError)},
		{name: "script outside the repo", dir: "ok", spec: &reconcile.CommandGenerator{Run: []string{"../../../gen.sh"}},
			want: []string{"escapes the repository"}},
		{name: "program not on PATH", dir: "ok", spec: &reconcile.CommandGenerator{Run: []string{"no-such-program-here"}},
			want: []string{"no-such-program-here", "not found in PATH"}, is: fs.ErrNotExist},
		{name: "script missing", dir: "ok", spec: &reconcile.CommandGenerator{Run: []string{"./missing.sh"}},
			want: []string{"command ./missing.sh"}, is: fs.ErrNotExist},
		{name: "empty run", dir: "ok", spec: &reconcile.CommandGenerator{},
			want: []string{"run is empty"}},
		{name: "unit directory missing", dir: "nope", spec: &reconcile.CommandGenerator{Run: []string{"true"}},
			want: []string{"unit directory"}, is: fs.ErrNotExist},
		{name: "env overriding steward's", dir: "ok", spec: &reconcile.CommandGenerator{Run: []string{"true"}, Env: map[string]string{"STEWARD_UNIT": "x"}},
			want: []string{"STEWARD_UNIT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := command.New(tt.spec).Generate(context.Background(), request(t, tt.dir))
			if err == nil {
				t.Fatalf("no error; got %d objects", len(objs))
			}
			t.Log(err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error mentions %q:\n%v", w, err)
				}
			}
			if tt.as != nil && !errors.As(err, tt.as) {
				t.Errorf("error %v is not a %T", err, tt.as)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}
