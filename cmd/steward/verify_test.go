package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExamplesVerify(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("..", "..", "examples", "*", "steward.yaml"))
	if err != nil || len(dirs) < 6 {
		t.Fatalf("examples: %v (found %d)", err, len(dirs))
	}
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			code, out, errOut := run(t, "verify", "-C", dir)
			if code != 0 {
				t.Fatalf("verify %s: exit %d\n%s%s", dir, code, out, errOut)
			}
			// Only lines saying an output's example stood in for a live
			// value may come before the verdict.
			for !strings.HasPrefix(out, "ok: ") {
				line, rest, ok := strings.Cut(out, "\n")
				if !ok || !strings.HasPrefix(line, "example: ") {
					t.Fatalf("verify output = %q", out)
				}
				out = rest
			}
		})
	}
}

func TestVerifyReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"steward.yaml": stackHeader + `units:
  - {name: good, path: good, generator: {yaml: {}}, target: prod, output: rendered/good}
  - {name: broken, path: broken, generator: {yaml: {}}, target: prod}
  - {name: nameless, path: nameless, generator: {yaml: {}}, target: prod}
checks:
  - {name: small, match: {kind: ConfigMap}, cel: "object.data.v.size() < 5", message: "v is too long"}
`,
		"good/a.yaml":              cm("a", "1") + "---\n" + cm("long", "123456"),
		"broken/b.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n data: x\n",
		"nameless/c.yaml":          "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
		"rendered/good/stale.yaml": "old: file\n",
	})
	code, out, _ := run(t, "verify", "-C", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		"unit broken: broken/b.yaml:4: did not find expected key",
		"unit nameless: nameless/c.yaml:1: ConfigMap has no metadata.name",
		"unit good: ConfigMap/app/long: rule small: v is too long",
		"--- /dev/null\n+++ generated/rendered/good/ConfigMap_app_a.yaml",
		"--- /dev/null\n+++ generated/rendered/good/ConfigMap_app_long.yaml",
		"--- committed/rendered/good/stale.yaml\n+++ /dev/null",
		"6 problems",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("verify output lacks %q:\n%s", want, out)
		}
	}

	// After --update-outputs, only the check failure and the broken units remain.
	if code, _, errOut := run(t, "build", "good", "-C", dir, "--update-outputs"); code != 1 || !strings.Contains(errOut, "rule small") {
		t.Fatalf("build of a unit failing its check: exit %d, %s", code, errOut)
	}
	writeTree(t, dir, map[string]string{"good/a.yaml": cm("a", "1")})
	if code, _, errOut := run(t, "build", "good", "-C", dir, "--update-outputs"); code != 0 {
		t.Fatalf("build --update-outputs: exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "rendered/good/stale.yaml")); !os.IsNotExist(err) {
		t.Fatalf("stale output file kept: %v", err)
	}
	code, out, _ = run(t, "verify", "-C", dir)
	if code != 1 || strings.Contains(out, "rendered/good") || !strings.Contains(out, "2 problems") {
		t.Fatalf("after update: exit %d\n%s", code, out)
	}
}

func TestVerifyInvalidStack(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"steward.yaml": stackHeader + "units:\n  - {name: a, path: a, generator: {yaml: {}}, target: nowhere, dependsOn: [b]}\n",
	})
	code, out, _ := run(t, "verify", "-C", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{
		`steward.yaml:6:55: units[0].target: names no target "nowhere" (targets: prod)`,
		`steward.yaml:6:76: units[0].dependsOn[0]: names no unit "b"`,
		"2 problems",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := run(t, "verify", "-C", t.TempDir()); code != 1 || !strings.Contains(errOut, "steward.yaml: not found") {
		t.Fatalf("no stack file: exit %d, %s", code, errOut)
	}
}

func TestBuild(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"steward.yaml": stackHeader + "units:\n  - {name: a, path: a, generator: {yaml: {}}, target: prod}\n  - {name: b, path: b, generator: {yaml: {}}, target: prod}\n",
		"a/x.yaml":     cm("z", "1") + "---\n" + cm("y", "2"),
		"b/x.yaml":     cm("x", "3"),
	})
	code, out, errOut := run(t, "build", "-C", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// "y" is quoted: YAML 1.1 (and so kubectl) reads a bare y as true.
	want := "# unit: a\napiVersion: v1\ndata:\n  v: \"2\"\nkind: ConfigMap\nmetadata:\n  name: \"y\"\n  namespace: app\n---\n" +
		"# unit: a\napiVersion: v1\ndata:\n  v: \"1\"\nkind: ConfigMap\nmetadata:\n  name: z\n  namespace: app\n---\n" +
		"# unit: b\napiVersion: v1\ndata:\n  v: \"3\"\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: app\n"
	if out != want {
		t.Fatalf("build output:\n%s\nwant:\n%s", out, want)
	}
	outDir := t.TempDir()
	if code, _, errOut := run(t, "build", "b", "-C", dir, "-o", outDir); code != 0 {
		t.Fatalf("build -o: exit %d: %s", code, errOut)
	}
	if b, err := os.ReadFile(filepath.Join(outDir, "b", "ConfigMap_app_x.yaml")); err != nil || !strings.Contains(string(b), "name: x") {
		t.Fatalf("build -o wrote %q, %v", b, err)
	}
	if code, _, errOut := run(t, "build", "nope", "-C", dir); code != 2 || !strings.Contains(errOut, `no unit named ["nope"]`) {
		t.Fatalf("unknown unit: exit %d, %s", code, errOut)
	}
	if code, _, _ := run(t, "build", "--bogus-flag"); code != 2 {
		t.Fatalf("bad flag: exit %d, want 2", code)
	}
}

func TestVerifyRefusesMarkerOfUnknownPolicy(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"steward.yaml": stackHeader + `units:
  - {name: app, path: app, generator: {yaml: {}}, target: prod}
images:
  policies:
    - {name: app, image: registry.example.com/team/app, semver: ">=1"}
`,
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata:\n" +
			"  a: registry.example.com/team/app:1.0 # {\"$imagepolicy\": \"app\"}\n" +
			"  b: registry.example.com/team/web:1.0 # {\"$imagepolicy\": \"web\"}\n" +
			"  c: x # {\"$imagepolicy\": app}\n",
	})
	code, out, errOut := run(t, "verify", "-C", dir)
	out += errOut
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		`app/cm.yaml:6: marker names no policy "web" (policies: app)`,
		"warning: app/cm.yaml:7: ",
		"1 problem\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
