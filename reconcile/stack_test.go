package reconcile

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

const validStack = `apiVersion: steward.dev/v1
kind: Stack
targets:
  prod: {kubernetes: {credentials: prod-kube}}
  web:  {machines: {hosts: [web1:22, web2:22], user: deploy, credentials: web-ssh, root: /, rollout: {batch: 1, maxFailures: "10%"}}}
  here: {local: {root: ./out}}
units:
  - name: platform
    path: clusters/prod/platform
    generator: {kustomize: {}}
    target: prod
    prune: true
    wait: {timeout: 5m}
  - name: app
    path: apps/app
    generator: {helm: {chart: ., values: [values-prod.yaml]}}
    target: prod
  - name: monitoring
    path: jsonnet/monitoring
    generator: {jsonnet: {file: main.jsonnet}}
    target: prod
    output: rendered/monitoring
  - name: web-hosts
    path: hosts/web
    generator: {command: {run: ["./gen.sh"], timeout: 60s}}
    target: web
    dependsOn: [platform]
    health: {http: {url: "http://{{.Host}}:8080/healthz"}}
  - name: plain
    path: manifests
    generator: {yaml: {}}
    target: here
images:
  policies:
    - {name: app, image: registry.example.com/team/app, semver: ">=1.2.0 <2"}
  update: {branch: main, pushBranch: image-updates, message: "update images"}
checks:
  - {name: limits, match: {kind: Deployment}, cel: "object.spec.template.spec.containers.all(c, has(c.resources.limits))"}
`

func TestParseStackValid(t *testing.T) {
	s, err := ParseStack([]byte(validStack), "steward.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s.Units); got != 5 {
		t.Fatalf("units = %d, want 5", got)
	}
	web := s.Unit("web-hosts")
	if web == nil || web.Generator.Command == nil || web.Generator.Command.Timeout.D().Seconds() != 60 {
		t.Fatalf("web-hosts unit decoded wrong: %+v", web)
	}
	ro := s.Targets["web"].Machines.Rollout
	if ro.Batch.Of(10) != 1 || !ro.MaxFailures.Percent || ro.MaxFailures.Of(10) != 1 {
		t.Fatalf("rollout decoded wrong: %+v", ro)
	}
	if p := s.Pos("units[3].target"); p.Line != 26 {
		t.Fatalf("position of units[3].target = %+v, want line 26", p)
	}
	if got := s.Graph().Levels(); len(got) != 2 || got[1][0] != "web-hosts" {
		t.Fatalf("levels = %v", got)
	}
}

func TestParseStackErrors(t *testing.T) {
	header := "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  t: {local: {root: out}}\n"
	unit := func(extra string) string {
		return header + "units:\n  - name: a\n    path: a\n    generator: {yaml: {}}\n    target: t\n" + extra
	}
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error, in order of appearance
	}{
		{"empty", "", []string{"steward.yaml: empty stack file"}},
		{"malformed", "apiVersion: [\n", []string{"steward.yaml:1: did not find expected node content"}},
		{"two documents", header + "---\nfoo: 1\n", []string{"steward.yaml:6:1: more than one YAML document"}},
		{"wrong header", "apiVersion: v2\nkind: Stak\n", []string{`steward.yaml:1:13: apiVersion: want "steward.dev/v1", found "v2"`, `steward.yaml:2:7: kind: want "Stack"`}},
		{"unknown field", unit("    prunee: true\n"), []string{"steward.yaml:10:5: units[0].prunee: unknown field (known: allowEmpty, dependsOn,"}},
		{"unknown generator", header + "units:\n  - name: a\n    path: a\n    generator: {kustomise: {}}\n    target: t\n", []string{"steward.yaml:8:17: units[0].generator.kustomise: unknown field (known: command, helm, jsonnet, kustomize, yaml)"}},
		{"two generators", header + "units:\n  - name: a\n    path: a\n    generator: {yaml: {}, kustomize: {}}\n    target: t\n", []string{"units[0].generator: a unit sets exactly one generator of yaml, kustomize, helm, jsonnet, command (found 2)"}},
		{"wrong type", unit("    prune: yes please\n"), []string{`steward.yaml:10:12: units[0].prune: want true or false, found "yes please"`}},
		{"bad duration", unit("    wait: {timeout: 5 minutes}\n"), []string{`units[0].wait.timeout: invalid duration "5 minutes"`}},
		{"duplicate key", unit("    prune: true\n    prune: false\n"), []string{"steward.yaml:11:5: units[0].prune: duplicate key"}},
		{"duplicate unit", unit("  - name: a\n    path: b\n    generator: {yaml: {}}\n    target: t\n"), []string{`steward.yaml:10:11: units[1].name: duplicate unit name "a" (first at units[0])`}},
		{"dangling target", header + "units:\n  - name: a\n    path: a\n    generator: {yaml: {}}\n    target: prod\n", []string{`steward.yaml:9:13: units[0].target: names no target "prod" (targets: t)`}},
		{"dangling dependsOn", unit("    dependsOn: [b]\n"), []string{`steward.yaml:10:17: units[0].dependsOn[0]: names no unit "b"`}},
		{"self dependency", unit("    dependsOn: [a]\n"), []string{"units[0].dependsOn[0]: unit depends on itself"}},
		{"cycle", header + "units:\n" +
			"  - {name: a, path: a, generator: {yaml: {}}, target: t, dependsOn: [c]}\n" +
			"  - {name: b, path: b, generator: {yaml: {}}, target: t, dependsOn: [a]}\n" +
			"  - {name: c, path: c, generator: {yaml: {}}, target: t, dependsOn: [b]}\n",
			[]string{"units[0].dependsOn: dependency cycle: a -> c -> b -> a"}},
		{"path escapes", header + "units:\n  - {name: a, path: ../other, generator: {yaml: {}}, target: t}\n", []string{`steward.yaml:6:21: units[0].path: path "../other" escapes the repository`}},
		{"absolute output", unit("    output: /etc/rendered\n"), []string{`units[0].output: path "/etc/rendered" is absolute`}},
		{"bad unit name", header + "units:\n  - {name: My_App, path: a, generator: {yaml: {}}, target: t}\n", []string{`units[0].name: "My_App" is not a valid unit name`}},
		{"forged target name", "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  \"prod\\nunit x: ok\": {local: {root: out}}\n  \"a|b\": {local: {root: out}}\nunits: []\n",
			[]string{`steward.yaml:5:10: targets.a|b: "a|b" is not a valid target name`, `steward.yaml:4:23: "targets.prod\nunit x: ok": "prod\nunit x: ok" is not a valid target name`}},
		{"target with two kinds", "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  t: {local: {root: out}, kubernetes: {}}\nunits: []\n", []string{"steward.yaml:4:6: targets.t: a target sets exactly one of kubernetes, machines, local (found 2)"}},
		{"bad rollout", "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  w: {machines: {hosts: [a:22], rollout: {batch: 150%}}}\nunits: []\n", []string{`targets.w.machines.rollout.batch: invalid count "150%"`}},
		{"list for mapping", "apiVersion: steward.dev/v1\nkind: Stack\ntargets: [a]\n", []string{"steward.yaml:3:10: targets: want a mapping, found a list"}},
		{"updater without run", unit("    updater: {timeout: 10s}\n"), []string{"steward.yaml:10:14: units[0].updater: updater needs run"}},
		{"check without cel", unit("checks:\n  - {name: x}\n"), []string{"checks[0].cel: check has no cel expression"}},
		{"bad window", unit("windows:\n  - {kind: maybe, schedule: '0 * * * *', duration: 1h}\n"), []string{`windows[0].kind: want allow or deny, found "maybe"`}},
		{"bad window schedule and zone", unit("windows:\n  - {kind: deny, schedule: 'not a cron', duration: 1h, timeZone: Mars/Olympus}\n"), []string{
			"steward.yaml:11:28: windows[0].schedule: expected exactly 5 fields", `steward.yaml:11:66: windows[0].timeZone: unknown time zone "Mars/Olympus"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseStack([]byte(tt.yaml), "steward.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			at := 0
			for _, w := range tt.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("error\n%s\ndoes not contain (in order)\n%s", msg, w)
				}
				at += i + len(w)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FieldError", err)
			}
		})
	}
}

func TestCheckPathsSymlinkOut(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "apps", "ok"), 0o755))
	must(t, os.Symlink(outside, filepath.Join(dir, "apps", "out")))
	must(t, os.Symlink("ok", filepath.Join(dir, "apps", "inside")))
	must(t, os.Symlink("../../..", filepath.Join(dir, "apps", "ok", "up")))
	root, err := os.OpenRoot(dir)
	must(t, err)
	defer root.Close()
	tree := root.FS()
	stack := "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  t: {local: {root: out}}\nunits:\n" +
		"  - {name: a, path: apps/ok, generator: {yaml: {}}, target: t}\n" +
		"  - {name: b, path: apps/inside, generator: {yaml: {}}, target: t}\n" +
		"  - {name: c, path: apps/out, generator: {yaml: {}}, target: t}\n" +
		"  - {name: d, path: apps/ok/up/x, generator: {yaml: {}}, target: t}\n"
	s, err := ParseStack([]byte(stack), "steward.yaml")
	must(t, err)
	err = s.CheckPaths(tree)
	if err == nil {
		t.Fatal("symlinks out of the repository were accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		"steward.yaml:8:21: units[2].path: path \"apps/out\" leaves the repository through symlink apps/out -> " + outside,
		"steward.yaml:9:21: units[3].path: path \"apps/ok/up/x\" leaves the repository through symlink apps/ok/up -> ../../..",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error\n%s\nlacks\n%s", msg, want)
		}
	}
	if strings.Contains(msg, "units[0]") || strings.Contains(msg, "units[1]") {
		t.Errorf("paths inside the repository were refused:\n%s", msg)
	}
}

// TestSchemaInSync keeps docs/steward.schema.json equal to the schema derived
// from the Go types (go test ./reconcile -update rewrites it).
func TestSchemaInSync(t *testing.T) {
	got, err := StackSchema()
	must(t, err)
	file := filepath.Join("..", "docs", "steward.schema.json")
	if *update {
		must(t, os.WriteFile(file, got, 0o644))
	}
	want, err := os.ReadFile(file)
	must(t, err)
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date with the Go types: run go test ./reconcile -run TestSchemaInSync -update", file)
	}
	for _, field := range []string{`"dependsOn"`, `"maxFailures"`, `"kustomize"`, `"additionalProperties": false`} {
		if !bytes.Contains(got, []byte(field)) {
			t.Errorf("schema lacks %s", field)
		}
	}
}

func FuzzParseStack(f *testing.F) {
	f.Add([]byte(validStack))
	f.Add([]byte("apiVersion: steward.dev/v1\nkind: Stack\nunits: [{name: a, dependsOn: [a]}]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseStack(data, "steward.yaml")
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "steward.yaml") {
				t.Fatalf("error does not name the file: %q", msg)
			}
			return
		}
		if s.Graph().Cycle() != nil {
			t.Fatal("a stack with a dependency cycle was accepted")
		}
		names := map[string]bool{}
		for _, u := range s.Units {
			if names[u.Name] {
				t.Fatalf("duplicate unit %q accepted", u.Name)
			}
			names[u.Name] = true
			if CleanRepoPath(u.Path) != nil {
				t.Fatalf("escaping path %q accepted", u.Path)
			}
		}
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
