package main

import (
	"strings"
	"testing"
)

const inputsStack = `apiVersion: steward.dev/v1
kind: Stack
targets:
  prod: {kubernetes: {credentials: prod, namespace: app}}
  db-hosts: {machines: {hosts: ["db1:22"]}}
units:
  - name: db
    path: db
    generator: {yaml: {}}
    target: db-hosts
    outputs:
      address: {fact: address, example: 10.0.0.5}
      port: {value: "5432"}
  - name: app
    path: app
    generator: {jsonnet: {file: main.jsonnet}}
    target: prod
    dependsOn: [db]
    inputs: {dbHost: db.address, dbPort: db.port}
`

const inputsJsonnet = `{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app', namespace: 'app' },
  data: { host: std.extVar('dbHost'), port: std.extVar('dbPort') } }
`

// CI has no live outputs: verify and build generate with the outputs'
// examples (literals as they are) and say so; an input with no example
// leaves its unit not generated, named with the reason, and fails.
func TestVerifyWithoutLiveOutputs(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"steward.yaml":     inputsStack,
		"db/f.yaml":        "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: motd}\nspec: {path: /etc/motd, content: hi}\n",
		"app/main.jsonnet": inputsJsonnet,
	})
	code, out, errOut := run(t, "verify", "-C", dir)
	if code != 0 || !strings.Contains(out, "example: unit app: input dbHost = db.address (example)\nok: 2 units") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "input dbPort") {
		t.Errorf("a literal output was reported as an example:\n%s", out)
	}
	code, out, errOut = run(t, "build", "-C", dir, "app")
	if code != 0 || !strings.Contains(out, "host: 10.0.0.5") || !strings.Contains(out, `port: "5432"`) {
		t.Fatalf("build: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "example: unit app: input dbHost = db.address (example)") {
		t.Errorf("build does not mark the example:\n%s", errOut)
	}

	writeTree(t, dir, map[string]string{"steward.yaml": strings.Replace(inputsStack, ", example: 10.0.0.5", "", 1)})
	code, out, errOut = run(t, "verify", "-C", dir)
	want := "unit app: not generated: input dbHost: output db.address has no example: value and no live value was read"
	if code != 1 || !strings.Contains(out+errOut, want) {
		t.Fatalf("verify without an example: exit %d, want 1 naming %q\n%s%s", code, want, out, errOut)
	}
	code, out, errOut = run(t, "build", "-C", dir, "app")
	if code != 1 || strings.Contains(out, "kind: ConfigMap") || !strings.Contains(errOut, want) {
		t.Fatalf("build without an example: exit %d\n%s%s", code, out, errOut)
	}
}

// A unit whose input names a unit it does not depend on is a stack error
// naming file, line and field.
func TestVerifyInputNotADependency(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"steward.yaml":     strings.Replace(inputsStack, "    dependsOn: [db]\n", "", 1),
		"db/f.yaml":        "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: motd}\nspec: {path: /etc/motd, content: hi}\n",
		"app/main.jsonnet": inputsJsonnet,
	})
	code, out, errOut := run(t, "verify", "-C", dir)
	want := "steward.yaml:18:22: units[1].inputs.dbHost: db is not a dependency of app: add db to dependsOn"
	if code != 1 || !strings.Contains(out+errOut, want) {
		t.Fatalf("exit %d, want 1 naming %q\n%s%s", code, want, out, errOut)
	}
}

// sync records the outputs on the target (a local one here); verify and
// build --outputs-from-live give inputs those values, not the examples.
func TestOutputsFromLive(t *testing.T) {
	hostRoot := t.TempDir()
	stack := strings.Replace(inputsStack, `db-hosts: {machines: {hosts: ["db1:22"]}}`, "db-hosts: {local: {root: "+hostRoot+"}}", 1)
	stack = strings.Replace(stack, "address: {fact: address, example: 10.0.0.5}", "address: {probe: [echo, 192.0.2.7], example: 10.0.0.5}", 1)
	// app's cluster is not at hand: the sync that records db's outputs
	// would otherwise carry them on to it.
	stack = strings.Replace(stack, "    target: prod\n", "    target: prod\n    suspend: true\n", 1)
	repo := gitRepo(t)
	commitFiles(t, repo, "first", map[string]string{
		"steward.yaml":     stack,
		"db/f.yaml":        "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: motd}\nspec: {path: /etc/motd, content: hi}\n",
		"app/main.jsonnet": inputsJsonnet,
	})
	code, out, errOut := run(t, "sync", "-C", repo, "db")
	if code != 0 {
		t.Fatalf("sync db: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = run(t, "build", "-C", repo, "--outputs-from-live", "app")
	if code != 0 || !strings.Contains(out, "host: 192.0.2.7") || strings.Contains(errOut, "example:") {
		t.Fatalf("build --outputs-from-live: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = run(t, "verify", "-C", repo, "--outputs-from-live")
	if code != 0 || strings.Contains(out, "example:") {
		t.Fatalf("verify --outputs-from-live: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = run(t, "build", "-C", repo, "app")
	if code != 0 || !strings.Contains(out, "host: 10.0.0.5") {
		t.Fatalf("build without live outputs: exit %d\n%s", code, out)
	}
}
