package reconcile_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/checks"
	"github.com/stewardhq/steward/targets/machine"
)

// Machine objects with an unknown apiVersion or kind, and objects of a
// machine unit that are no machine kind, are refused at the check stage:
// the revision is refused as a whole, before any unit is planned (issue 14
// item 16).
func TestGenerateRefusesUnknownMachineKinds(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"steward.yaml": `apiVersion: steward.dev/v1
kind: Stack
targets:
  here: {local: {root: out}}
  prod: {kubernetes: {}}
units:
  - {name: good, path: good, generator: {yaml: {}}, target: here}
  - {name: hosts, path: hosts, generator: {yaml: {}}, target: here}
  - {name: cluster, path: cluster, generator: {yaml: {}}, target: prod}
`,
		"good/f.yaml": "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: motd}\nspec: {path: /etc/motd, content: hi}\n",
		"hosts/a.yaml": "apiVersion: machine.steward.dev/v2\nkind: File\nmetadata: {name: future}\nspec: {path: /etc/x, content: x}\n" +
			"---\napiVersion: machine.steward.dev/v1\nkind: Widget\nmetadata: {name: w}\nspec: {}\n" +
			"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: app}\nspec: {}\n",
		"cluster/c.yaml": "apiVersion: machine.steward.dev/v9\nkind: Package\nmetadata: {name: nginx}\nspec: {name: nginx}\n",
	})
	opts := checks.DefaultOptions()
	opts.ValidateMachine = machine.Validate
	st := yamlStages()
	st.Checks = checks.For(opts)
	g, err := reconcile.Generate(context.Background(), &reconcile.Revision{Tree: os.DirFS(dir), Dir: dir}, nil, st)
	if err != nil {
		t.Fatal(err)
	}
	if g.Err() == nil {
		t.Fatal("a revision with unknown machine kinds was accepted")
	}
	text := g.Err().Error()
	for _, want := range []string{
		`unit hosts: machine.steward.dev/File/future: rule machine: File/future: apiVersion: want machine.steward.dev/v1, got "machine.steward.dev/v2"`,
		`unit hosts: machine.steward.dev/Widget/w: rule machine: Widget/w: kind: unknown machine kind`,
		`unit hosts: apps/Deployment/app/web: rule machine: Deployment/web: apiVersion: want machine.steward.dev/v1, got "apps/v1"`,
		`unit cluster: machine.steward.dev/Package/nginx: rule machine: Package/nginx: apiVersion: want machine.steward.dev/v1, got "machine.steward.dev/v9"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("refusal lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "unit good") {
		t.Errorf("the valid unit was refused:\n%s", text)
	}
	for _, u := range g.Unchecked {
		if strings.Contains(u, "machine.steward.dev") || strings.Contains(u, "Deployment") {
			t.Errorf("a machine unit's object was left unchecked: %s", u)
		}
	}
}
