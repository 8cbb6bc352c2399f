package packages_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/packages"
)

func loadGreeter(t *testing.T) *packages.Package {
	t.Helper()
	p, err := packages.Load(os.DirFS("testdata"), "greeter", "greeter/steward-package.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const stackHead = `apiVersion: steward.dev/v1
kind: Stack
targets:
  here: {local: {root: out}}
units:
  - name: greet
    package: {git: "https://git.example.com/ops", path: greeter, channel: stable}
    target: here
`

func TestParamsDefaults(t *testing.T) {
	p := loadGreeter(t)
	stack, err := reconcile.ParseStack([]byte(stackHead+"    with: {greeting: hi}\n"), "steward.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := packages.Params(stack, &stack.Units[0], p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	if want := `{"count":1,"greeting":"hi","owner":{"name":"root"}}`; string(b) != want {
		t.Fatalf("params = %s, want %s", b, want)
	}
	if stack.Units[0].With["count"] != nil {
		t.Fatal("the unit's with: was changed")
	}
}

func TestParamsFailingSchema(t *testing.T) {
	p := loadGreeter(t)
	for _, tc := range []struct {
		name, with string
		want       []string
	}{
		{"wrong type", "    with:\n      greeting: hi\n      count: many\n",
			[]string{"steward.yaml:11:14: units[0].with.count:", "got string, want integer", "schema /properties/count/type"}},
		{"below minimum", "    with: {greeting: hi, count: 0}\n",
			[]string{"steward.yaml:9:33: units[0].with.count:", "minimum", "schema /properties/count/minimum"}},
		{"missing required", "    with: {count: 2}\n",
			[]string{"steward.yaml:9:11: units[0].with:", "missing property 'greeting'", "schema /required"}},
		{"no with at all", "",
			[]string{"steward.yaml:7:14: units[0].with:", "missing property 'greeting'"}},
		{"unknown parameter", "    with: {greeting: hi, colour: red}\n",
			[]string{"units[0].with:", "colour", "schema /additionalProperties"}},
		{"nested", "    with: {greeting: hi, owner: {name: 7}}\n",
			[]string{"steward.yaml:9:33: units[0].with.owner", "schema /properties/owner/properties/name/type"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stack, err := reconcile.ParseStack([]byte(stackHead+tc.with), "steward.yaml")
			if err != nil {
				t.Fatal(err)
			}
			_, err = packages.Params(stack, &stack.Units[0], p)
			if err == nil {
				t.Fatal("parameters failing the schema were accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadRefusesBadManifest(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown field", "apiVersion: steward.dev/v1\nkind: Package\nname: x\ngenerator: {yaml: {}}\nparams: {}\n", "pkg.yaml:5:1: params: unknown field"},
		{"two generators", "apiVersion: steward.dev/v1\nkind: Package\nname: x\ngenerator: {yaml: {}, kustomize: {}}\n", "generator: a package sets exactly one generator"},
		{"bad kind", "apiVersion: steward.dev/v1\nkind: Package\nname: x\ngenerator: {yaml: {}}\ntargetKinds: [cluster]\n", `targetKinds[0]: want one of kubernetes, machines, local, found "cluster"`},
		{"schema reading a file", "apiVersion: steward.dev/v1\nkind: Package\nname: x\ngenerator: {yaml: {}}\nparameters: {$ref: 'file:///etc/passwd'}\n", "refers only to itself"},
		{"bad schema", "apiVersion: steward.dev/v1\nkind: Package\nname: x\ngenerator: {yaml: {}}\nparameters: {type: objekt}\n", "pkg.yaml:5:13: parameters: not a valid JSON Schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(dir+"/steward-package.yaml", []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := packages.Load(os.DirFS(dir), ".", "pkg.yaml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}
