package helm_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stewardhq/steward/generators/helm"
	"github.com/stewardhq/steward/reconcile"
)

// renderStack parses stack as steward.yaml and renders its units with the
// helm generator over the repository testdata/<repo>, as the engine does.
func renderStack(t *testing.T, repo, stack string) []reconcile.Rendered {
	t.Helper()
	s, err := reconcile.ParseStack([]byte(stack), "steward.yaml")
	if err != nil {
		t.Fatal(err)
	}
	units, err := s.Select(nil)
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs(filepath.Join("testdata", repo))
	if err != nil {
		t.Fatal(err)
	}
	opts := reconcile.DefaultRenderOptions()
	opts.Generators = func(u *reconcile.Unit) (reconcile.Generator, error) { return helm.New(u.Generator.Helm), nil }
	r := reconcile.NewRenderer(opts)
	return r.Render(context.Background(), &reconcile.Revision{ID: "0123abc", Tree: os.DirFS(root), Dir: root}, units)
}

// set values keep the YAML type the stack file gives them and are never
// split on commas (helm's --set would read "hello, world" as two keys).
func TestSetValuesTyped(t *testing.T) {
	const stack = `apiVersion: steward.dev/v1
kind: Stack
targets:
  k: {kubernetes: {}}
units:
  - name: u
    path: chart
    target: k
    generator:
      helm:
        set:
          data.greeting: "hello, world"
          data.count: 3
          data.quoted: "3"
          data.ratio: 0.5
          data.on: true
          data.off: "false"
          data.list: [a, "b,c"]
          data.map: {x: 1}
          data.nothing: null
          data.dotted\.key: v
          data.items[1]: second
`
	ren := renderStack(t, "set-values", stack)
	if err := ren[0].Err; err != nil {
		t.Fatal(err)
	}
	data := ren[0].Objects[0].Object["data"].(map[string]any)
	want := map[string]string{
		"greeting":   `"hello, world" string`,
		"count":      `3 float64`, // a number, as values files give numbers
		"quoted":     `"3" string`,
		"ratio":      `0.5 float64`,
		"on":         `true bool`,
		"off":        `"false" string`,
		"list":       `["a","b,c"] []interface {}`,
		"map":        `{"x":1} map[string]interface {}`,
		"nothing":    `null <nil>`,
		"dotted.key": `"v" string`,
		"items":      `[null,"second"] []interface {}`,
	}
	for k, w := range want {
		if got := data[k]; got != w {
			t.Errorf("data.%s = %v, want %s", k, got, w)
		}
	}
	if len(data) != len(want) {
		t.Errorf("data = %v, want exactly the keys %v", data, want)
	}
}

// The release namespace is the unit's namespace, else its target's, else
// default: a chart using .Release.Namespace lands where the unit's other
// objects do.
func TestReleaseNamespace(t *testing.T) {
	const stack = `apiVersion: steward.dev/v1
kind: Stack
targets:
  apps: {kubernetes: {namespace: apps}}
  bare: {kubernetes: {}}
units:
  - {name: target-ns, path: chart, target: apps, generator: {helm: {}}}
  - {name: unit-ns, path: chart, target: apps, namespace: shop, generator: {helm: {}}}
  - {name: no-ns, path: chart, target: bare, generator: {helm: {}}}
`
	want := []string{"apps", "shop", "default"}
	for i, ren := range renderStack(t, "set-values", stack) {
		if ren.Err != nil {
			t.Fatal(ren.Err)
		}
		if got := ren.Objects[0].GetNamespace(); got != want[i] {
			t.Errorf("unit %s: release namespace %q, want %q", ren.Unit.Name, got, want[i])
		}
	}
}
