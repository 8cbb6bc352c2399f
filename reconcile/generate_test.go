package reconcile_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/generators/yaml"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/checks"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func yamlStages() reconcile.Stages {
	return reconcile.Stages{
		Renderer: reconcile.NewRenderer(reconcile.RenderOptions{Generators: func(u *reconcile.Unit) (reconcile.Generator, error) {
			return yaml.New(u.Generator.YAML), nil
		}}),
		Checks: checks.For(checks.DefaultOptions()),
	}
}

const generateStack = `apiVersion: steward.dev/v1
kind: Stack
targets:
  prod: {kubernetes: {credentials: prod}}
units:
  - {name: broken, path: broken, generator: {yaml: {}}, target: prod}
  - {name: long, path: long, generator: {yaml: {}}, target: prod}
  - {name: twin, path: twin, generator: {yaml: {}}, target: prod}
checks:
  - {name: short, match: {kind: ConfigMap}, cel: "object.data.v.size() < 5", message: "v is too long"}
`

func configMap(name, v string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: app}\ndata: {v: \"" + v + "\"}\n"
}

// One unit failing to generate does not stop the checks of the others, nor
// conflict detection: one Generate reports every problem of the revision.
func TestGenerateChecksRunAfterAUnitFailed(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"steward.yaml":  generateStack,
		"broken/b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n data: x\n",
		"long/l.yaml":   configMap("l", "123456"),
		"twin/t.yaml":   configMap("l", "1"),
	})
	g, err := reconcile.Generate(context.Background(), &reconcile.Revision{Tree: os.DirFS(dir), Dir: dir}, nil, yamlStages())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range g.Problems {
		got = append(got, p.Error())
	}
	text := strings.Join(got, "\n")
	for _, want := range []string{
		"unit broken: broken/b.yaml:4: did not find expected key",
		"unit long: ConfigMap/app/l: rule short: v is too long",
		"ConfigMap/app/l is written by units long and twin to target prod",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("problems lack %q:\n%s", want, text)
		}
	}
	if len(g.Problems) != 3 || g.Err() == nil {
		t.Errorf("want 3 problems, got %d:\n%s", len(g.Problems), text)
	}
	if len(g.Units) != 3 || g.Objects() != 2 {
		t.Errorf("units %d objects %d, want 3 and 2", len(g.Units), g.Objects())
	}
}

func TestGenerateSelection(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"steward.yaml": generateStack,
		"long/l.yaml":  configMap("l", "1"),
	})
	rev := &reconcile.Revision{Tree: os.DirFS(dir), Dir: dir}
	g, err := reconcile.Generate(context.Background(), rev, []string{"long"}, yamlStages())
	if err != nil || len(g.Units) != 1 || g.Err() != nil {
		t.Fatalf("select long: %v, %+v", err, g)
	}
	var unknown *reconcile.UnknownUnitError
	if _, err := reconcile.Generate(context.Background(), rev, []string{"nope"}, yamlStages()); !errors.As(err, &unknown) {
		t.Fatalf("unknown unit: %v", err)
	}
	writeFiles(t, dir, map[string]string{"steward.yaml": "apiVersion: steward.dev/v1\nkind: Stack\nbogus: 1\n"})
	if _, err := reconcile.Generate(context.Background(), rev, nil, yamlStages()); err == nil || !strings.Contains(err.Error(), "steward.yaml:3") {
		t.Fatalf("invalid stack: %v", err)
	}
}

// A check that does not compile is a problem of the revision, named by its
// place in the stack file.
func TestGenerateBadCheck(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"steward.yaml": strings.Replace(generateStack, "object.data.v.size() < 5", "obj.x", 1),
		"long/l.yaml":  configMap("l", "1"),
	})
	g, err := reconcile.Generate(context.Background(), &reconcile.Revision{Tree: os.DirFS(dir), Dir: dir}, []string{"long"}, yamlStages())
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Problems) != 1 || !strings.Contains(g.Problems[0].Error(), "checks[0].cel (rule short): compile") {
		t.Fatalf("problems = %v", g.Problems)
	}
}
